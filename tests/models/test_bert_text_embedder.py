import keras
import numpy as np
import pytest

from bert_keras import BertTextEmbedder, BertTextPreprocessor


@pytest.fixture(scope="module")
def embedder(minilm_encoder, minilm_tokenizer):
    # seq_length 32: the reference's, so its long text is truncated the same way.
    return BertTextEmbedder(minilm_encoder, preprocessor=BertTextPreprocessor(minilm_tokenizer, seq_length=32))


def test_mean_pooled_unit_vectors_match_transformers(embedder, reference):
    """sentence-transformers' encode for this checkpoint: mask-weighted mean of last_hidden_state, then L2 norm,
    computed here from transformers' own outputs (tests/fixtures)."""
    texts = reference["meta"]["singles"]
    hidden, mask = reference["single_last_hidden_state"], reference["single_attention_mask"][:, :, None]
    mean = (hidden * mask).sum(1) / mask.sum(1)
    expected = mean / np.linalg.norm(mean, axis=-1, keepdims=True)
    got = embedder.predict(texts, batch_size=3, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 1.0, atol=1e-6)


def test_cls_pooling_and_unnormalized(minilm_encoder, minilm_tokenizer, reference):
    texts = reference["meta"]["singles"]
    cls = BertTextEmbedder(minilm_encoder, pooling="cls", normalize=False,
                           preprocessor=BertTextPreprocessor(minilm_tokenizer, seq_length=32))
    np.testing.assert_allclose(cls.predict(texts, verbose=0), reference["single_last_hidden_state"][:, 0], atol=1e-5)


def test_keras_file_round_trip_reads_text(embedder, tmp_path):
    path = str(tmp_path / "embedder.keras")
    embedder.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    texts = ["A man is playing a guitar.", "北京是中国的首都。"]
    np.testing.assert_allclose(loaded.predict(texts, verbose=0), embedder.predict(texts, verbose=0), atol=1e-6)
    assert (loaded.pooling, loaded.normalize) == ("mean", True)


def test_bad_pooling(minilm_encoder):
    with pytest.raises(ValueError, match=r"pooling must be one of \('mean', 'cls'\), got 'max'"):
        BertTextEmbedder(minilm_encoder, pooling="max")
