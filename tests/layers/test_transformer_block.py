import math

import numpy as np
import pytest

from bert_keras.layers import TransformerBlock

_erf = np.vectorize(math.erf)


def _block(**kw):
    return TransformerBlock(hidden_dim=8, num_heads=2, intermediate_dim=16, dropout=0.0, attention_dropout=0.0, **kw)


def _layer_norm(x, ln):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * ln.gamma.numpy() + ln.beta.numpy()


@pytest.mark.parametrize("activation, fn", [
    ("gelu", lambda v: 0.5 * v * (1 + _erf(v / math.sqrt(2)))),
    ("gelu_approximate", lambda v: 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))),
    ("relu", lambda v: np.maximum(v, 0)),
])
def test_post_layer_norm_block_formula(activation, fn):
    block = _block(activation=activation)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 5, 8)).astype("float32")
    mask = np.ones((1, 5), "int32")
    out = np.asarray(block(x, mask))
    h = _layer_norm(x + np.asarray(block.attention(x, mask)), block.attention_layer_norm)
    inter = fn(h @ block.intermediate_dense.kernel.numpy() + block.intermediate_dense.bias.numpy())
    ffn = inter @ block.output_dense.kernel.numpy() + block.output_dense.bias.numpy()
    np.testing.assert_allclose(out, _layer_norm(h + ffn, block.output_layer_norm), atol=1e-5)


def test_returns_attention_probs_on_request():
    out, probs = _block()(np.ones((2, 3, 8), "float32"), np.ones((2, 3)), return_attention_probs=True)
    assert out.shape == (2, 3, 8) and probs.shape == (2, 2, 3, 3)


def test_unknown_activation():
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        _block(activation="swish")


def test_wrong_width_named_at_build():
    with pytest.raises(ValueError, match="hidden_dim=8, got shape"):
        _block()(np.ones((1, 3, 4), "float32"), np.ones((1, 3)))


def test_config_round_trip():
    block = _block(activation="relu", layer_norm_epsilon=1e-6)
    assert TransformerBlock.from_config(block.get_config()).get_config() == block.get_config()
