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
