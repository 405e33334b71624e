import json
import os

import numpy as np
import pytest
import tensorflow as tf

from bert_keras import BertTokenizer

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "!", "caf", "##e",
         "北", "京", ",", "，", "ss", "stra", "##ss", "##ß"]


def test_reference_ids_for_the_fixture_inputs(reference, minilm_tokenizer):
    meta = reference["meta"]
    single = minilm_tokenizer(meta["singles"], seq_length=reference["single_input_ids"].shape[1])
    np.testing.assert_array_equal(single["input_word_ids"], reference["single_input_ids"])
    np.testing.assert_array_equal(single["input_mask"], reference["single_attention_mask"])
    np.testing.assert_array_equal(single["input_type_ids"], reference["single_token_type_ids"])
    pairs = minilm_tokenizer([a for a, _ in meta["pairs"]], [b for _, b in meta["pairs"]],
                             seq_length=reference["pair_input_ids"].shape[1])
    np.testing.assert_array_equal(pairs["input_word_ids"], reference["pair_input_ids"])
    np.testing.assert_array_equal(pairs["input_type_ids"], reference["pair_token_type_ids"])


def test_packing_layout():
    tokenizer = BertTokenizer(VOCAB)
    features = tokenizer(["The cat sat", ""], ["on the mat!", "cat"], seq_length=10)
    assert features["input_word_ids"].numpy().tolist() == [
        [2, 5, 6, 7, 3, 8, 5, 9, 10, 3],
        [2, 3, 6, 3, 0, 0, 0, 0, 0, 0],
    ]
    assert features["input_type_ids"].numpy().tolist() == [[0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
                                                           [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]]
    assert features["input_mask"].numpy().tolist() == [[1] * 10, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]]
    assert all(v.dtype == tf.int32 for v in features.values())


def test_reference_normalization_not_tensorflow_text_case_folding():
    tokenizer = BertTokenizer(VOCAB)
    # Fullwidth comma stays fullwidth (tensorflow-text's own table makes it ","); ß stays ß (not "ss").
    assert tokenizer.tokenize(["北，京"]).to_list() == [[13, 16, 14]]
    assert tokenizer.tokenize(["Straße"]).to_list() == [[18, 20, 12]]  # stra ##ß ##e, not stra ##ss ##e


def test_offsets_point_into_the_original_text():
    tokenizer = BertTokenizer(VOCAB)
    text = "Ｔhe CAFE\u0301 cat"
    features = tokenizer([text], seq_length=8, return_offsets=True)
    raw = text.encode("utf-8")
    ids = features["input_word_ids"].numpy()[0]
    spans = [raw[s:e].decode("utf-8") for s, e in zip(features["start_offsets"].numpy()[0],
                                                       features["end_offsets"].numpy()[0])]
    tokens = [VOCAB[i] for i in ids]
    assert tokens[:6] == ["[CLS]", "[UNK]", "caf", "##e", "cat", "[SEP]"]
    # The decomposed accent (U+0301) is dropped by normalization but stays inside the span of its letter.
    assert spans[:6] == ["", "Ｔhe", "CAF", "E\u0301", "cat", ""]


def test_runs_in_tf_function_and_tf_data():
    tokenizer = BertTokenizer(VOCAB, seq_length=6)
    eager = tokenizer(["the cat", "mat"])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def packed(texts):
        return tokenizer(texts)

    graph = packed(tf.constant(["the cat", "mat"]))
    data = tf.data.Dataset.from_tensor_slices(["the cat", "mat"]).batch(2).map(tokenizer)
    batch = next(iter(data))
    for key in eager:
        np.testing.assert_array_equal(eager[key], graph[key])
        np.testing.assert_array_equal(eager[key], batch[key])
    # Eager calls of a setting run op by op until its third call, then through one traced function: same features.
    from bert_keras.text.bert_tokenizer import TRACE_AT_CALL

    calls = [tokenizer(["the cat", "mat"], return_offsets=True) for _ in range(TRACE_AT_CALL + 1)]
    assert (6, True, False) in tokenizer._traced_calls
    for later in calls[1:]:
        for key in calls[0]:
            np.testing.assert_array_equal(calls[0][key], later[key])


@pytest.mark.parametrize("batch", [0, 1, 3, 7])
def test_parallel_shards_give_the_same_features(batch):
    texts = ["The cat sat on the mat!", "", "café 北京", "cat " * 12, "Straße", "the", "mat mat"] * 2
    pairs = texts[::-1]
    one = BertTokenizer(VOCAB, parallel_shards=1)
    three = BertTokenizer(VOCAB, parallel_shards=3)  # more shards than a batch of 1 (an empty shard)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
    def packed(a, b):
        return (three(a, seq_length=9, return_offsets=True), three(a, b, seq_length=9, return_offsets=True),
                three(a, b, seq_length=9))

    got = packed(tf.constant(texts[:batch], tf.string), tf.constant(pairs[:batch], tf.string))
    want = (one(texts[:batch], seq_length=9, return_offsets=True),
            one(texts[:batch], pairs[:batch], seq_length=9, return_offsets=True),
            one(texts[:batch], pairs[:batch], seq_length=9))
    for g, w in zip(got, want):
        assert sorted(g) == sorted(w)
        for key in w:
            assert g[key].shape == (batch, 9)
            np.testing.assert_array_equal(g[key], w[key])
    np.testing.assert_array_equal(three(texts[:batch], seq_length=9)["input_word_ids"],  # eagerly too
                                  want[0]["input_word_ids"])


def test_parallel_shards_must_be_positive():
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match=f"parallel_shards must be a positive int or None.*got {bad!r}"):
            BertTokenizer(VOCAB, parallel_shards=bad)


def test_config_round_trip():
    tokenizer = BertTokenizer(VOCAB, lower_case=False, seq_length=32, truncation="round_robin", parallel_shards=2)
    clone = BertTokenizer.from_config(tokenizer.get_config())
    assert clone.get_config() == tokenizer.get_config()
    np.testing.assert_array_equal(clone(["Cat sat"])["input_word_ids"], tokenizer(["Cat sat"])["input_word_ids"])


def test_from_pretrained_reads_case_from_tokenizer_config(minilm_tokenizer, tmp_path):
    assert minilm_tokenizer.lower_case is True
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    assert BertTokenizer.from_pretrained(str(tmp_path)).lower_case is False


def test_from_pretrained_infers_case_from_a_google_vocab(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    assert BertTokenizer.from_pretrained(str(tmp_path)).lower_case is True
    cased = VOCAB + ["The", "Cat", "Paris", "London", "A"]
    (tmp_path / "vocab.txt").write_text("\n".join(cased) + "\n", encoding="utf-8")
    assert BertTokenizer.from_pretrained(str(tmp_path)).lower_case is False


def test_save_assets_round_trip(tmp_path):
    tokenizer = BertTokenizer(VOCAB, lower_case=False)
    tokenizer.save_assets(str(tmp_path))
    loaded = BertTokenizer.from_pretrained(str(tmp_path))
    assert loaded.vocabulary == VOCAB and loaded.lower_case is False


def test_missing_vocab_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No vocab file at .*vocab.txt"):
        BertTokenizer.from_pretrained(str(tmp_path))


def test_vocab_without_special_tokens():
    with pytest.raises(ValueError, match=r"lacks the special token\(s\) \['\[CLS\]', '\[SEP\]'\]"):
        BertTokenizer(["[PAD]", "[UNK]", "hello"])


def test_unsupported_hugging_face_options(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "strip_accents": False}))
    with pytest.raises(ValueError, match="strip_accents=False with do_lower_case=True"):
        BertTokenizer.from_pretrained(str(tmp_path))


def test_duplicate_vocab_tokens_are_named():
    with pytest.raises(ValueError, match=r"vocabulary's token 'cat' appears twice \(ids 6 and 21\)"):
        BertTokenizer(VOCAB + ["cat"])


def test_seq_length_too_short():
    with pytest.raises(ValueError, match="seq_length must be an int of at least 4"):
        BertTokenizer(VOCAB)(["a"], ["b"], seq_length=3)


def test_pair_batches_of_different_sizes():
    with pytest.raises(tf.errors.InvalidArgumentError, match="same number of elements"):
        BertTokenizer(VOCAB)(["a", "b"], ["c"], seq_length=8)


def test_batch_must_be_one_dimensional():
    with pytest.raises(ValueError, match="Expected a 1-D batch of strings"):
        BertTokenizer(VOCAB)([["a"], ["b"]])


def test_tokenizer_for_run_takes_the_checkpoints_vocab_and_refuses_another(minilm_dir, tmp_path):
    from bert_keras.text.bert_tokenizer import tokenizer_for_run

    own = os.path.join(minilm_dir, "vocab.txt")
    assert tokenizer_for_run(own, minilm_dir, seq_length=64).vocab_size == 30522
    assert tokenizer_for_run(None, minilm_dir).seq_length == 128
    other = tmp_path / "vocab.txt"
    other.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"]) + "\n", encoding="utf-8")
    assert tokenizer_for_run(str(other), None, lower_case=False).lower_case is False
    with pytest.raises(ValueError, match=r"--vocab .* differs from the vocab.txt of --init_checkpoint"):
        tokenizer_for_run(str(other), minilm_dir)
    with pytest.raises(ValueError, match="Pass --vocab"):
        tokenizer_for_run(None, None)
