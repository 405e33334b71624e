"""NextSentenceHead: a 2-way classifier on the pooled output."""

import numpy as np
import pytest

from bert_keras.layers import NextSentenceHead


def test_logits_and_config():
    head = NextSentenceHead(hidden_dim=4, initializer_range=0.5)
    pooled = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_allclose(head(pooled), pooled @ head.dense.kernel.numpy() + head.dense.bias.numpy(), rtol=1e-6)
    assert NextSentenceHead.from_config(head.get_config()).hidden_dim == 4
    with pytest.raises(ValueError, match=r"\[batch, 4\]"):
        NextSentenceHead(hidden_dim=4)(np.zeros((2, 3), "float32"))


def test_bfloat16_bias_gradient_over_a_large_batch_is_exact():
    # Keras's Dense sums a bfloat16 bias gradient in bfloat16 (512 ones -> 256); the head's must not.
    import tensorflow as tf

    head = NextSentenceHead(hidden_dim=4, dtype="mixed_bfloat16")
    x = tf.ones((512, 4))
    head(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.cast(head(x), tf.float32))
    assert tape.gradient(loss, head.dense.bias).numpy().tolist() == [512.0, 512.0]
