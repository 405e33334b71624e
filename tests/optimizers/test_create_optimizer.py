import keras
import numpy as np
import pytest

import tensorflow as tf

from bert_keras.optimizers import WarmupLinearDecay, create_optimizer


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
