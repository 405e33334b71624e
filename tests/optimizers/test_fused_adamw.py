import keras
import numpy as np
import pytest

import tensorflow as tf

from bert_keras.optimizers import FusedAdamW, WarmupLinearDecay, create_optimizer


def _train_variables(optimizer, steps=8, sparse=False):
    rng = np.random.default_rng(0)
    table = keras.Variable(rng.normal(size=(20, 6)).astype("float32"), name="embeddings")
    kernel = keras.Variable(rng.normal(size=(6, 3)).astype("float32"), name="kernel")
    bias = keras.Variable(rng.normal(size=(3,)).astype("float32"), name="bias")
    variables = [table, kernel, bias]

    @tf.function
    def step(ids, g_kernel, g_bias):
        rows = tf.ones([tf.shape(ids)[0], 6]) * 0.3
        g_table = tf.IndexedSlices(rows, ids, tf.constant([20, 6])) if sparse else tf.math.unsorted_segment_sum(
            rows, ids, 20)
        optimizer.apply([g_table, g_kernel, g_bias], variables)

    for _ in range(steps):
        step(tf.constant(rng.integers(0, 20, 9), tf.int32), tf.constant(rng.normal(size=(6, 3)), tf.float32),
             tf.constant(rng.normal(size=(3,)), tf.float32))
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("clipnorm", [None, 1.0, 100.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_fused_adamw_matches_keras_adamw(clipnorm, sparse):
    def make(cls):
        optimizer = cls(WarmupLinearDecay(1e-2, 2, 8), weight_decay=0.05, epsilon=1e-6, global_clipnorm=clipnorm)
        optimizer.exclude_from_weight_decay(var_names=["bias"])
        return optimizer
    # An IndexedSlices gradient (the embedding table's) is applied densely, as Google's BERT optimizer and
    # PyTorch's AdamW do: every row's moments decay each step. (Keras's AdamW updates only the gathered rows.)
    expected = _train_variables(make(keras.optimizers.AdamW), sparse=False)
    fused = _train_variables(make(FusedAdamW), sparse=sparse)
    for a, b in zip(expected, fused):
        np.testing.assert_allclose(b, a, atol=2e-6)
    assert not np.allclose(expected[0], _train_variables(make(keras.optimizers.AdamW), steps=0)[0])


def _make(cls, clipnorm=1.0, **kwargs):
    optimizer = cls(WarmupLinearDecay(1e-2, 2, 8), weight_decay=0.05, epsilon=1e-6, global_clipnorm=clipnorm,
                    **kwargs)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    return optimizer


def test_amsgrad_falls_back_to_keras_update():
    expected = _train_variables(_make(keras.optimizers.AdamW, amsgrad=True))
    for a, b in zip(expected, _train_variables(_make(FusedAdamW, amsgrad=True))):
        np.testing.assert_allclose(b, a, atol=2e-6)


def test_gradient_accumulation_matches_keras_adamw():
    # Clipping, decay and the update run inside the accumulation's cond branch, on the mean of 3 gradients.
    expected = _train_variables(_make(keras.optimizers.AdamW, gradient_accumulation_steps=3), steps=9)
    fused = _train_variables(_make(FusedAdamW, gradient_accumulation_steps=3), steps=9)
    for a, b in zip(expected, fused):
        np.testing.assert_allclose(b, a, atol=2e-6)


def test_fused_adamw_is_what_create_optimizer_returns_and_serializes():
    optimizer = create_optimizer("adamw", 1e-3, total_steps=10)
    assert isinstance(optimizer, FusedAdamW)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, FusedAdamW) and restored.weight_decay == optimizer.weight_decay
    assert isinstance(restored._learning_rate, WarmupLinearDecay)
