import numpy as np
import pytest

from bert_keras.layers import BertPooler


def test_tanh_dense_of_first_position():
    pooler = BertPooler(hidden_dim=4)
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    out = np.asarray(pooler(x))
    expected = np.tanh(x[:, 0] @ pooler.dense.kernel.numpy() + pooler.dense.bias.numpy())
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_wrong_shape_named():
    with pytest.raises(ValueError, match=r"\[batch, seq, 4\] sequence output, got shape"):
        BertPooler(hidden_dim=4)(np.zeros((2, 5), "float32"))


def test_config_round_trip():
    pooler = BertPooler(hidden_dim=4, initializer_range=0.1)
    assert BertPooler.from_config(pooler.get_config()).get_config() == pooler.get_config()


def test_bfloat16_bias_gradient_over_a_large_batch_is_exact():
    # Keras's Dense sums a bfloat16 bias gradient in bfloat16 (512 ones -> 256); the pooler's must not.
    import tensorflow as tf

    pooler = BertPooler(hidden_dim=4, dtype="mixed_bfloat16")
    x = tf.ones((512, 3, 4))
    pooler(x)
    pooler.dense.set_weights([np.zeros((4, 4), "float32"), np.zeros((4,), "float32")])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.cast(pooler(x), tf.float32))  # tanh'(0) = 1: each row adds 1 to each bias
    assert tape.gradient(loss, pooler.dense.bias).numpy().tolist() == [512.0] * 4
