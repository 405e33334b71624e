import pytest

from bert_keras.checkpoints import google, huggingface


@pytest.mark.parametrize("google_name, hf_name, transpose", [
    ("bert/embeddings/word_embeddings", "embeddings.word_embeddings.weight", False),
    ("bert/embeddings/LayerNorm/gamma", "embeddings.LayerNorm.weight", False),
    ("bert/encoder/layer_11/attention/self/query/kernel", "encoder.layer.11.attention.self.query.weight", True),
    ("bert/encoder/layer_0/attention/output/LayerNorm/beta", "encoder.layer.0.attention.output.LayerNorm.bias",
     False),
    ("bert/encoder/layer_3/intermediate/dense/bias", "encoder.layer.3.intermediate.dense.bias", False),
    ("bert/pooler/dense/kernel", "pooler.dense.weight", True),
    ("cls/predictions/transform/dense/kernel", "cls.predictions.transform.dense.weight", True),
    ("cls/predictions/output_bias", "cls.predictions.bias", False),
    ("cls/seq_relationship/output_weights", "cls.seq_relationship.weight", False),
])
def test_name_map(google_name, hf_name, transpose):
    assert huggingface.hf_name(google_name) == (hf_name, transpose)


def test_map_is_one_to_one_over_a_whole_model():
    names = google.encoder_tensor_names(12) + list(google.HEAD_NAMES)
    assert len({huggingface.hf_name(n)[0] for n in names}) == len(names) == 5 + 12 * 16 + 2 + 7


def test_legacy_gamma_beta_names_are_read():
    import numpy as np

    tensors = {"bert.embeddings.LayerNorm.gamma": np.ones(2), "bert.embeddings.LayerNorm.beta": np.zeros(2)}
    out, unused = huggingface.to_google_names(tensors, ["bert/embeddings/LayerNorm/gamma",
                                                        "bert/embeddings/LayerNorm/beta"])
    assert sorted(out) == ["bert/embeddings/LayerNorm/beta", "bert/embeddings/LayerNorm/gamma"] and unused == []


@pytest.mark.parametrize("keep_bytes", [0, 7, 1000, -4])
def test_truncated_safetensors_is_named_with_the_fix(tmp_path, minilm_dir, keep_bytes):
    """The real MiniLM file cut short (or emptied): a ValueError naming the path, not a bare SafetensorError."""
    import os
    import shutil

    directory = tmp_path / "ckpt"
    directory.mkdir()
    shutil.copy(os.path.join(minilm_dir, "config.json"), directory)
    with open(os.path.join(minilm_dir, "model.safetensors"), "rb") as f:
        data = f.read(1_000_000 if keep_bytes == -4 else keep_bytes)
    (directory / "model.safetensors").write_bytes(data[:-4] if keep_bytes == -4 else data)
    from bert_keras import BertEncoder

    with pytest.raises(ValueError, match=rf"{directory}/model.safetensors is not a readable safetensors file "
                                         r"\(.* bytes; .*\): truncated or corrupt\. Re-download it"):
        BertEncoder.from_pretrained(str(directory))
