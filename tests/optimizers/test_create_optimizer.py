import keras
import numpy as np
import pytest

import tensorflow as tf

from bert_keras.optimizers import FusedAdamW, WarmupLinearDecay, create_optimizer


def test_schedule_values_and_serialization():
    schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=110)
    values = [float(schedule(s)) for s in (0, 5, 10, 60, 110, 500)]
    np.testing.assert_allclose(values, [0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0], atol=1e-9)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert float(clone(60)) == pytest.approx(5e-4)


def test_bad_schedule():
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupLinearDecay(1e-3, warmup_steps=20, total_steps=10)
    with pytest.raises(ValueError, match="Unknown optimizer 'sgd'"):
        create_optimizer("sgd", 1e-3, 10)


@pytest.mark.parametrize("name", ["adamw", "lamb"])
def test_no_weight_decay_on_bias_and_layer_norm(name):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.LayerNormalization()])
    model.layers[1].gamma.assign(np.full(4, 2.0, "float32"))
    model.layers[1].beta.assign(np.full(4, 0.5, "float32"))
    model.layers[0].bias.assign(np.full(4, 0.5, "float32"))
    optimizer = create_optimizer(name, 1.0, total_steps=10, warmup_ratio=0.0, weight_decay=0.1)
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    optimizer.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in model.trainable_variables])
    for v in model.trainable_variables:
        if v.path.endswith("kernel"):
            # Zero gradients: the whole update is the decoupled decay, kernel * (1 - lr * weight_decay).
            np.testing.assert_allclose(v.numpy(), before[v.path] * (1 - 1.0 * 0.1), rtol=1e-6, err_msg=v.path)
        else:
            np.testing.assert_array_equal(v.numpy(), before[v.path], err_msg=v.path)


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


def test_fused_adamw_is_what_create_optimizer_returns_and_serializes():
    optimizer = create_optimizer("adamw", 1e-3, total_steps=10)
    assert isinstance(optimizer, FusedAdamW)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, FusedAdamW) and restored.weight_decay == optimizer.weight_decay
    assert isinstance(restored._learning_rate, WarmupLinearDecay)
