import numpy as np
import pytest
import tensorflow as tf

from bert_keras.layers.bias_add import bias_add
from bert_keras.layers.fused_dense import FusedDense


def _bias_gradient(add, dy):
    y = tf.zeros_like(dy)
    bias = tf.zeros(dy.shape[-1:], dy.dtype)
    with tf.GradientTape() as tape:
        tape.watch(bias)
        out = add(y, bias)
    return tape.gradient(out, bias, output_gradients=dy)


def _exact_sum(dy):
    return np.asarray(dy, "float64").sum(axis=0)


def _relative_error(got, dy):
    exact = _exact_sum(dy)
    return np.abs(np.asarray(got, "float64") - exact).max() / np.abs(exact).max()


def test_bfloat16_bias_gradient_is_summed_in_float32_where_tensorflows_is_not():
    # batch 32 x 128 tokens of a 2048-wide layer, gradients of one sign as a layer's often lean
    rng = np.random.default_rng(0)
    dy = tf.cast(rng.normal(0.5, 1.0, size=(4096, 2048)), tf.bfloat16)
    ours = _bias_gradient(bias_add, dy)
    assert ours.dtype == tf.bfloat16
    assert _relative_error(ours, dy) < 0.005  # the rounding of the sum itself to bfloat16 (8 bits)
    # The control: TensorFlow's BiasAddGrad accumulates in bfloat16 (if this starts failing, TensorFlow fixed it
    # and this module can go).
    assert _relative_error(_bias_gradient(tf.nn.bias_add, dy), dy) > 0.05
    ones = tf.ones((4096, 3), tf.bfloat16)
    assert _bias_gradient(bias_add, ones).numpy().tolist() == [4096.0] * 3
    assert _bias_gradient(tf.nn.bias_add, ones).numpy().tolist() == [256.0] * 3


def test_float16_keeps_bias_add_grad_which_accumulates_in_float32():
    # The other way round from bfloat16: float16's BiasAddGrad is exact here and its reduce_sum is not.
    ones = tf.ones((4096, 3), tf.float16)
    assert _bias_gradient(bias_add, ones).numpy().tolist() == [4096.0] * 3
    assert tf.reduce_sum(ones, axis=0).numpy().tolist() == [2048.0] * 3


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_forward_and_input_gradient_equal_tf_nn_bias_add(dtype):
    rng = np.random.default_rng(1)
    y = tf.cast(rng.normal(size=(7, 5)), dtype)
    bias = tf.cast(rng.normal(size=(5,)), dtype)
    dy = tf.cast(rng.normal(size=(7, 5)), dtype)
    results = []
    for add in (bias_add, tf.nn.bias_add):
        with tf.GradientTape() as tape:
            tape.watch([y, bias])
            out = add(y, bias)
        results.append([out] + tape.gradient(out, [y, bias], output_gradients=dy))
    (out, dy_in, dbias), (their_out, their_dy_in, their_dbias) = results
    assert out.dtype == dy_in.dtype == dbias.dtype == dtype
    np.testing.assert_array_equal(np.asarray(out, "float32"), np.asarray(their_out, "float32"))
    np.testing.assert_array_equal(np.asarray(dy_in, "float32"), np.asarray(their_dy_in, "float32"))
    if dtype == tf.float32:
        np.testing.assert_allclose(dbias.numpy(), their_dbias.numpy(), rtol=1e-6, atol=1e-6)
    else:  # within the bfloat16 rounding of the exact sum
        np.testing.assert_allclose(np.asarray(dbias, "float64"), _exact_sum(dy), rtol=2 ** -8, atol=2 ** -8)


def test_unknown_row_count_in_a_traced_function():
    fn = tf.function(lambda dy: _bias_gradient(bias_add, dy),
                     input_signature=[tf.TensorSpec((None, 4), tf.bfloat16)])
    assert fn(tf.ones((300, 4), tf.bfloat16)).numpy().tolist() == [300.0] * 4


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4)])
def test_refuses_other_than_2d(shape):
    with pytest.raises(ValueError, match=r"2-D tensor \[rows, units\], got shape"):
        bias_add(tf.zeros(shape), tf.zeros(shape[-1:]))


def test_fused_dense_bias_gradient_in_mixed_bfloat16_training():
    layer = FusedDense(64, activation="gelu", dtype="mixed_bfloat16")
    x = tf.constant(np.random.default_rng(2).normal(size=(32, 128, 16)).astype("float32"))
    layer(x)
    with tf.GradientTape() as tape:
        out = layer(x, training=True)
        assert out.dtype == tf.bfloat16
        loss = tf.reduce_sum(tf.cast(out, tf.float32))
    bias_grad = tape.gradient(loss, layer.bias)
    assert bias_grad.dtype == tf.float32
    # The exact sum of the upstream gradient, GELU's slope at the bfloat16 pre-activations (here from tf.nn.gelu's
    # bfloat16 chain, which differs from gelu_fused's float32 slope by bfloat16 roundings: hence 2%, not 0.5%).
    with tf.GradientTape() as tape:
        pre = tf.matmul(tf.reshape(tf.cast(x, tf.bfloat16), (-1, 16)), tf.cast(layer.kernel, tf.bfloat16))
        pre = tf.nn.bias_add(pre, tf.cast(layer.bias, tf.bfloat16))
        tape.watch(pre)
        total = tf.reduce_sum(tf.cast(tf.nn.gelu(pre, approximate=False), tf.float32))
    slope = tape.gradient(total, pre)
    assert _relative_error(bias_grad, slope) < 0.02
