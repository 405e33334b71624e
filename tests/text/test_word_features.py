import tensorflow as tf

from bert_keras.text.word_features import pack_words


def test_labels_on_first_pieces_only(minilm_tokenizer):
    words = tf.ragged.constant([["@paulwalk", "It", "'s", "Straße"], [], ["Hello"]])
    labels = tf.ragged.constant([[1, 0, 0, 2], [], [3]])
    f = pack_words(minilm_tokenizer, words, 10, labels)
    tokens = [minilm_tokenizer.vocabulary[i] for i in f["input_word_ids"].numpy()[0]]
    assert tokens == ["[CLS]", "@", "paul", "##walk", "it", "'", "s", "st", "##raße", "[SEP]"]
    assert f["word_index"].numpy().tolist()[0] == [-1, 0, -1, -1, 1, 2, -1, 3, -1, -1]
    assert f["labels"].numpy().tolist() == [[-1, 1, -1, -1, 0, 0, -1, 2, -1, -1], [-1] * 10,
                                            [-1, 3] + [-1] * 8]


def test_words_past_seq_length_are_cut(minilm_tokenizer):
    words = tf.ragged.constant([["one", "two", "three", "four"]])
    f = pack_words(minilm_tokenizer, words, 4, tf.ragged.constant([[1, 2, 3, 4]]))
    assert f["word_index"].numpy().tolist() == [[-1, 0, 1, -1]]
    assert f["labels"].numpy().tolist() == [[-1, 1, 2, -1]]


def test_runs_in_tf_data(minilm_tokenizer):
    ds = tf.data.Dataset.from_tensor_slices({"w": tf.ragged.constant([["a", "b"], ["c"]])}).batch(2)
    batch = next(iter(ds.map(lambda b: pack_words(minilm_tokenizer, b["w"], 6))))
    assert batch["word_index"].numpy().tolist() == [[-1, 0, 1, -1, -1, -1], [-1, 0, -1, -1, -1, -1]]


def test_bio_tag_set_orders_types_and_refuses_other_tags():
    import pytest

    from bert_keras.text.word_features import bio_tag_set

    assert bio_tag_set([(["Ann", "in", "Paris"], ["B-PER", "O", "B-LOC"]), (["x"], ["I-ORG"])]) == \
        ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    # A POS tag or a bare type used to become a type of its own ("NOUN" -> "UN", "PER" -> "R").
    for bad in ("NOUN", "PER", "B-", "E-LOC"):
        with pytest.raises(ValueError, match=f"Sentence 1, tag 0: '{bad}' is not BIO .*labels=\\[...\\]"):
            bio_tag_set([(["a"], ["O"]), (["b"], [bad])])

