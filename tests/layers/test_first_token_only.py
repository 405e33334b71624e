"""`first_token_only`: the last block computed for [CLS] alone gives that position's full-block output."""

import numpy as np
import pytest

from bert_keras.layers import MultiHeadSelfAttention, TransformerBlock


@pytest.fixture()
def inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 16)).astype("float32")
    mask = np.ones((3, 7), "int32")
    mask[1, 4:] = 0
    mask[2, 1:] = 0
    return x, mask


def test_attention_first_token_matches_full(inputs):
    x, mask = inputs
    layer = MultiHeadSelfAttention(16, 4, attention_dropout=0.0)
    full, full_probs = layer(x, mask, return_attention_probs=True)
    first, first_probs = layer(x, mask, return_attention_probs=True, first_token_only=True)
    assert first.shape == (3, 1, 16) and first_probs.shape == (3, 4, 1, 7)
    np.testing.assert_allclose(first.numpy()[:, 0], full.numpy()[:, 0], atol=1e-6)
    np.testing.assert_allclose(first_probs.numpy()[:, :, 0], full_probs.numpy()[:, :, 0], atol=1e-7)


def test_block_first_token_matches_full(inputs):
    x, mask = inputs
    block = TransformerBlock(16, 4, 64, dropout=0.0, attention_dropout=0.0)
    full = block(x, mask).numpy()
    first = block(x, mask, first_token_only=True).numpy()
    assert first.shape == (3, 1, 16)
    np.testing.assert_allclose(first[:, 0], full[:, 0], atol=1e-5)


def test_int8_quantized_attention_first_token_matches_full(inputs):
    # Quantized, Dense's `kernel` is the raw int8 table (its scales apply inside the layer's call): the [CLS]-only
    # path must go through the layer, or the last block of a quantized classifier reads unscaled weights.
    x, mask = inputs
    layer = MultiHeadSelfAttention(16, 4, attention_dropout=0.0)
    reference = layer(x, mask).numpy()[:, 0]
    layer.query_key_value.quantize("int8")
    layer.output_dense.quantize("int8")
    full = layer(x, mask).numpy()[:, 0]
    first = layer(x, mask, first_token_only=True).numpy()[:, 0]
    np.testing.assert_allclose(first, full, atol=1e-6)
    assert np.abs(full - reference).max() < 0.05 * np.abs(reference).max()  # int8 is close to float32
