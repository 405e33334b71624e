"""Checkpoint import: numerical parity with transformers on the real MiniLM checkpoint, through the Hugging
Face path and through Google's TF1 layout, plus every refusal a user can run into."""

import json
import logging
import os

import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import save_file

from bert_keras import BertEncoder, BertTokenizer, load_checkpoint, save_google_checkpoint
from bert_keras.checkpoints import encoder_tensors, huggingface
from bert_keras.configs import encoder_config_to_json
from tests.helpers import random_features, tiny_encoder


def _max_diffs(encoder, tokenizer, reference):
    meta = reference["meta"]
    diffs = {}
    for tag, first, second in [("single", meta["singles"], None),
                               ("pair", [a for a, _ in meta["pairs"]], [b for _, b in meta["pairs"]])]:
        features = tokenizer(first, second, seq_length=reference[f"{tag}_input_ids"].shape[1])
        np.testing.assert_array_equal(features["input_word_ids"], reference[f"{tag}_input_ids"])
        out = encoder(features)
        seq = np.abs(np.asarray(out["sequence_output"]) - reference[f"{tag}_last_hidden_state"])
        exact = np.abs(np.asarray(out["sequence_output"]) - reference[f"{tag}_last_hidden_state_float64"])
        real = reference[f"{tag}_attention_mask"].astype(bool)
        diffs[tag] = {
            "sequence_real_tokens": float(seq[real].max()),
            "sequence_real_tokens_vs_float64": float(exact[real].max()),
            "sequence_all_positions_vs_float64": float(exact.max()),
            "pooled": float(np.abs(np.asarray(out["pooled_output"]) - reference[f"{tag}_pooler_output"]).max()),
        }
    return diffs


def _assert_parity(diffs):
    print("max abs differences vs transformers:", json.dumps(diffs))
    for tag in diffs:
        assert diffs[tag]["sequence_real_tokens"] < 1e-5
        assert diffs[tag]["sequence_real_tokens_vs_float64"] < 1e-5
        # Padding positions of the empty text attend to [CLS] and [SEP] alone and are ill-conditioned: there
        # transformers' own float32 output is 0.9e-4 (AMD Zen 3, AVX2) to 1.9e-4 (Zen 4, AVX-512) away from its
        # float64 run, so they are held to the float64 run, at a bound that still catches any masking error (O(1)).
        assert diffs[tag]["sequence_all_positions_vs_float64"] < 5e-4
        assert diffs[tag]["pooled"] < 1e-5


def test_hugging_face_checkpoint_matches_transformers(minilm_encoder, minilm_tokenizer, reference):
    assert minilm_encoder.count_params() == 22_713_216
    _assert_parity(_max_diffs(minilm_encoder, minilm_tokenizer, reference))


def test_google_layout_round_trip_gives_the_same_numbers(minilm_encoder, minilm_dir, reference, tmp_path):
    directory = str(tmp_path / "uncased_L-6_H-384_A-12")
    save_google_checkpoint(minilm_encoder, directory, vocab_path=os.path.join(minilm_dir, "vocab.txt"))
    assert sorted(os.listdir(directory)) == ["bert_config.json", "bert_model.ckpt.data-00000-of-00001",
                                             "bert_model.ckpt.index", "checkpoint", "vocab.txt"]
    variables = dict(tf.train.list_variables(os.path.join(directory, "bert_model.ckpt")))
    assert variables["bert/encoder/layer_5/attention/self/query/kernel"] == [384, 384]
    assert variables["bert/embeddings/word_embeddings"] == [30522, 384]
    assert len(variables) == 5 + 6 * 16 + 2
    checkpoint = load_checkpoint(directory)
    assert checkpoint.format == "google" and checkpoint.unused == [] and checkpoint.head_tensors == {}
    encoder = BertEncoder.from_pretrained(directory)
    tokenizer = BertTokenizer.from_pretrained(directory)  # no tokenizer_config.json: case read from the vocab
    assert tokenizer.lower_case is True
    for name, value in encoder_tensors(minilm_encoder).items():
        np.testing.assert_array_equal(checkpoint.tensors[name], value)
    _assert_parity(_max_diffs(encoder, tokenizer, reference))
    # The checkpoint prefix works as a path too.
    prefixed = BertEncoder.from_pretrained(os.path.join(directory, "bert_model.ckpt"))
    features = random_features(vocab=30522)
    np.testing.assert_array_equal(prefixed(features)["pooled_output"], encoder(features)["pooled_output"])


def _head_tensors(hidden, vocab):
    rng = np.random.default_rng(0)
    return {
        "cls/predictions/transform/dense/kernel": rng.normal(size=(hidden, hidden)).astype("float32"),
        "cls/predictions/transform/dense/bias": rng.normal(size=(hidden,)).astype("float32"),
        "cls/predictions/transform/LayerNorm/gamma": rng.normal(size=(hidden,)).astype("float32"),
        "cls/predictions/transform/LayerNorm/beta": rng.normal(size=(hidden,)).astype("float32"),
        "cls/predictions/output_bias": rng.normal(size=(vocab,)).astype("float32"),
        "cls/seq_relationship/output_weights": rng.normal(size=(2, hidden)).astype("float32"),
        "cls/seq_relationship/output_bias": rng.normal(size=(2,)).astype("float32"),
    }


def test_google_checkpoint_keeps_head_tensors_and_skips_optimizer_state(tmp_path):
    from bert_keras.checkpoints import google

    encoder = tiny_encoder()
    heads = _head_tensors(16, 64)
    tensors = {**encoder_tensors(encoder), **heads}
    tensors["bert/embeddings/word_embeddings/adam_m"] = np.zeros((64, 16), "float32")
    tensors["global_step"] = np.array(1000, "int64")
    tensors["output_weights"] = np.zeros((3, 16), "float32")  # a fine-tuned classifier's, say
    google.write_checkpoint(str(tmp_path / "ckpt"), tensors, encoder_config_to_json(encoder.encoder_config()))
    checkpoint = load_checkpoint(str(tmp_path / "ckpt"))
    assert sorted(checkpoint.head_tensors) == sorted(heads)
    np.testing.assert_array_equal(checkpoint.head_tensors["cls/seq_relationship/output_weights"],
                                  heads["cls/seq_relationship/output_weights"])
    assert checkpoint.unused == ["output_weights"]


def _write_hf_dir(directory, encoder, prefix="", heads=None, extra=None, drop=(), config_changes=None):
    os.makedirs(directory, exist_ok=True)
    state = {}
    for name, value in {**encoder_tensors(encoder), **(heads or {})}.items():
        hf, transpose = huggingface.hf_name(name)
        key = hf if hf.startswith("cls.") else prefix + hf
        state[key] = np.ascontiguousarray(value.T if transpose else value)
    state[prefix + "embeddings.position_ids"] = np.arange(encoder.max_sequence_length)[None].astype("int64")
    state.update(extra or {})
    for name in drop:
        del state[name]
    save_file(state, os.path.join(directory, "model.safetensors"))
    config = encoder_config_to_json(encoder.encoder_config())
    config.update(config_changes or {})
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    return state


def test_hugging_face_pretraining_layout_with_prefix_and_heads(tmp_path):
    encoder = tiny_encoder()
    heads = _head_tensors(16, 64)
    state = _write_hf_dir(str(tmp_path), encoder, prefix="bert.", heads=heads,
                          extra={"cls.predictions.decoder.weight": np.zeros((64, 16), "float32")})
    assert "bert.encoder.layer.1.attention.self.query.weight" in state
    loaded = BertEncoder.from_pretrained(str(tmp_path))
    features = random_features()
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(loaded(features)[key], encoder(features)[key], atol=1e-6)
    checkpoint = load_checkpoint(str(tmp_path))
    assert checkpoint.unused == []  # the tied decoder weight and position_ids are known, not unused
    np.testing.assert_array_equal(checkpoint.head_tensors["cls/predictions/transform/dense/kernel"],
                                  heads["cls/predictions/transform/dense/kernel"])


def test_sharded_safetensors(tmp_path):
    encoder = tiny_encoder()
    state = _write_hf_dir(str(tmp_path), encoder)
    os.remove(tmp_path / "model.safetensors")
    names = sorted(state)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    for shard, keys in shards.items():
        save_file({k: state[k] for k in keys}, str(tmp_path / shard))
    with open(tmp_path / "model.safetensors.index.json", "w") as f:
        json.dump({"weight_map": {k: shard for shard, keys in shards.items() for k in keys}}, f)
    features = random_features()
    np.testing.assert_allclose(BertEncoder.from_pretrained(str(tmp_path))(features)["pooled_output"],
                               encoder(features)["pooled_output"], atol=1e-6)


def test_unused_tensors_are_listed(tmp_path, caplog):
    extra = {"classifier.weight": np.zeros((2, 16), "float32"), "classifier.bias": np.zeros(2, "float32")}
    _write_hf_dir(str(tmp_path), tiny_encoder(), extra=extra)
    with caplog.at_level(logging.WARNING):
        BertEncoder.from_pretrained(str(tmp_path))
    assert "2 tensors of" in caplog.text and "classifier.bias" in caplog.text and "classifier.weight" in caplog.text


def test_missing_tensor_is_named_as_in_the_file(tmp_path):
    _write_hf_dir(str(tmp_path), tiny_encoder(), drop=["encoder.layer.1.output.dense.weight"])
    with pytest.raises(ValueError, match=r"lacks the tensor 'encoder.layer.1.output.dense.weight' "
                                         r"\(bert/encoder/layer_1/output/dense/kernel in Google's names\)"):
        BertEncoder.from_pretrained(str(tmp_path))


def test_shape_mismatch_names_both_shapes(tmp_path):
    _write_hf_dir(str(tmp_path), tiny_encoder(), config_changes={"intermediate_size": 48})
    with pytest.raises(ValueError, match=r"Shape mismatch for 'encoder.layer.0.intermediate.dense.weight'.*"
                                         r"checkpoint has \(16, 32\), the model expects \(16, 48\)"):
        BertEncoder.from_pretrained(str(tmp_path))


def test_checkpoint_of_another_architecture(tmp_path):
    _write_hf_dir(str(tmp_path), tiny_encoder(), config_changes={"model_type": "roberta"})
    with pytest.raises(ValueError, match="model_type is 'roberta', not 'bert'"):
        BertEncoder.from_pretrained(str(tmp_path))


def test_tf_checkpoint_without_bert_variables(tmp_path):
    from bert_keras.checkpoints import google

    encoder = tiny_encoder()
    google.write_checkpoint(str(tmp_path / "other"), {"dense/kernel": np.zeros((2, 2), "float32")},
                            encoder_config_to_json(encoder.encoder_config()))
    with pytest.raises(ValueError, match="holds no BERT embedding table"):
        load_checkpoint(str(tmp_path / "other"))


def test_pickle_checkpoint_needs_torch_and_weights_only(tmp_path):
    _write_hf_dir(str(tmp_path), tiny_encoder())
    os.remove(tmp_path / "model.safetensors")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is None:
        (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x02not really a pickle")
        with pytest.raises(ValueError, match="pickle-based PyTorch file; it is not read without torch"):
            BertEncoder.from_pretrained(str(tmp_path))
    else:  # with torch installed, only weights_only loading is used
        torch.save({"x": torch.zeros(1)}, tmp_path / "pytorch_model.bin")
        with pytest.raises(ValueError, match="lacks the tensor"):
            BertEncoder.from_pretrained(str(tmp_path))


def test_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="No BERT checkpoint found"):
        BertEncoder.from_pretrained(str(tmp_path / "nowhere"))
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(FileNotFoundError, match=r"Found: \['notes.txt'\]"):
        BertEncoder.from_pretrained(str(tmp_path))


def test_google_checkpoint_without_config(tmp_path):
    encoder = tiny_encoder()
    save_google_checkpoint(encoder, str(tmp_path / "g"))
    os.remove(tmp_path / "g" / "bert_config.json")
    with pytest.raises(FileNotFoundError, match="no bert_config.json beside it"):
        BertEncoder.from_pretrained(str(tmp_path / "g"))


def test_export_refuses_to_overwrite(tmp_path):
    encoder = tiny_encoder()
    save_google_checkpoint(encoder, str(tmp_path / "g"))
    with pytest.raises(FileExistsError, match="already exists"):
        save_google_checkpoint(encoder, str(tmp_path / "g"))
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp")] == []


def test_overrides(tmp_path):
    _write_hf_dir(str(tmp_path), tiny_encoder())
    encoder = BertEncoder.from_pretrained(str(tmp_path), output_encoder_outputs=True, dropout=0.2)
    assert encoder.dropout == 0.2 and len(encoder(random_features())["encoder_outputs"]) == 2
    with pytest.raises(ValueError, match=r"\['hidden_dim'\] cannot be overridden"):
        BertEncoder.from_pretrained(str(tmp_path), hidden_dim=32)
