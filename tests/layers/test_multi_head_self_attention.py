import keras
import numpy as np
import pytest

from bert_keras.layers import MultiHeadSelfAttention


def test_matches_keras_multi_head_attention_with_the_same_weights():
    hidden, heads = 16, 4
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, hidden)).astype("float32")
    mask = np.ones((2, 7), "int32")
    mask[1, 4:] = 0
    ours = MultiHeadSelfAttention(hidden, heads, attention_dropout=0.0)
    out, probs = ours(x, mask, return_attention_probs=True)
    ref = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=hidden // heads)
    ref(x, x)
    q, k, v = np.split(ours.query_key_value.kernel.numpy(), 3, axis=-1)
    qb, kb, vb = np.split(ours.query_key_value.bias.numpy(), 3)
    shape = (hidden, heads, hidden // heads)
    ref.set_weights([q.reshape(shape), qb.reshape(shape[1:]), k.reshape(shape), kb.reshape(shape[1:]),
                     v.reshape(shape), vb.reshape(shape[1:]),
                     ours.output_dense.kernel.numpy().reshape(heads, hidden // heads, hidden),
                     ours.output_dense.bias.numpy()])
    attention_mask = (mask[:, None, :] * np.ones((1, 7, 1), "int32")).astype(bool)
    ref_out, ref_probs = ref(x, x, attention_mask=attention_mask, return_attention_scores=True)
    np.testing.assert_allclose(out, ref_out, atol=1e-5)
    np.testing.assert_allclose(probs, ref_probs, atol=1e-6)


def test_padding_keys_get_zero_probability_and_do_not_change_real_outputs():
    layer = MultiHeadSelfAttention(8, 2, attention_dropout=0.0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 6, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0]])
    out, probs = layer(x, mask, return_attention_probs=True)
    probs = np.asarray(probs)
    assert np.all(probs[..., 4:] == 0.0)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    x2 = x.copy()
    x2[:, 4:] = rng.normal(size=(1, 2, 8))
    out2 = layer(x2, mask)
    np.testing.assert_allclose(np.asarray(out)[:, :4], np.asarray(out2)[:, :4], atol=1e-6)


def test_hidden_not_divisible_by_heads():
    with pytest.raises(ValueError, match="hidden_dim=10 is not divisible by num_heads=3"):
        MultiHeadSelfAttention(10, 3)


def test_wrong_input_width_is_named_at_build():
    layer = MultiHeadSelfAttention(8, 2)
    with pytest.raises(ValueError, match="hidden_dim=8 but got inputs of width 6"):
        layer(np.zeros((1, 3, 6), "float32"), np.ones((1, 3)))


def test_config_round_trip():
    layer = MultiHeadSelfAttention(8, 2, attention_dropout=0.2, initializer_range=0.05, name="att")
    clone = MultiHeadSelfAttention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
