import numpy as np
import pytest
import tensorflow as tf

from bert_keras.layers.fused_gelu import gelu_fused


def _value_and_gradient(fn, z):
    with tf.GradientTape() as tape:
        tape.watch(z)
        y = fn(z)
    return y, tape.gradient(y, z)


@pytest.mark.parametrize("approximate", [False, True])
def test_float32_equals_the_float64_reference(approximate):
    z = tf.linspace(-8.0, 8.0, 4001)
    y, dz = _value_and_gradient(lambda t: gelu_fused(t, approximate=approximate), z)
    ref_y, ref_dz = _value_and_gradient(lambda t: tf.nn.gelu(t, approximate=approximate), tf.cast(z, tf.float64))
    assert y.dtype == dz.dtype == tf.float32
    np.testing.assert_allclose(y.numpy(), ref_y.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(dz.numpy(), ref_dz.numpy(), rtol=0, atol=5e-6)
    # The gradient is the derivative: slope 0.5 at 0, 0 and 1 far out, and GELU's dip below zero near -0.75.
    np.testing.assert_allclose(dz.numpy()[[0, 2000, 4000]], [0.0, 0.5, 1.0], atol=1e-6)
    assert dz.numpy().min() < -0.12


@pytest.mark.parametrize("dtype, half_ulp", [(tf.bfloat16, 2.0 ** -8), (tf.float16, 2.0 ** -11)])
@pytest.mark.parametrize("approximate", [False, True])
def test_16_bit_inputs_are_computed_in_float32_and_rounded_once(dtype, half_ulp, approximate):
    z = tf.cast(tf.linspace(-6.0, 6.0, 1201), dtype)
    y, dz = _value_and_gradient(lambda t: gelu_fused(t, approximate=approximate), z)
    assert y.dtype == dz.dtype == dtype
    ref_y, ref_dz = _value_and_gradient(lambda t: tf.nn.gelu(t, approximate=approximate), tf.cast(z, tf.float64))
    for got, ref in ((y, ref_y), (dz, ref_dz)):
        got, ref = tf.cast(got, tf.float64).numpy(), ref.numpy()
        # Half a unit in the last place of the 16-bit result (one rounding), plus float32's own error where the
        # tanh form cancels (1 + tanh(u) for u << 0).
        assert np.all(np.abs(got - ref) <= half_ulp * np.abs(ref) + 1e-5), np.abs(got - ref).max()


def test_one_traced_function_takes_new_shapes():
    fn = tf.function(lambda t: _value_and_gradient(gelu_fused, t), input_signature=[tf.TensorSpec([None, None])])
    for shape in [(3, 5), (4, 9), (1, 1)]:
        z = tf.random.stateless_normal(shape, seed=[1, len(shape) + shape[1]])
        y, dz = fn(z)
        ref_y, ref_dz = _value_and_gradient(tf.nn.gelu, z)
        np.testing.assert_allclose(y.numpy(), ref_y.numpy(), atol=1e-6)
        np.testing.assert_allclose(dz.numpy(), ref_dz.numpy(), atol=1e-5)


def test_other_dtypes_are_refused_with_the_way_out():
    with pytest.raises(ValueError, match="float64.*tf.nn.gelu"):
        gelu_fused(tf.constant([1.0], tf.float64))
