import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_keras.layers.packed_random_dropout import PackedRandomDropout


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_drops_the_rate_and_keeps_the_expectation(rate):
    layer = PackedRandomDropout(rate, seed=0)
    x = np.ones((64, 1000), "float32")
    out = np.asarray(layer(x, training=True))
    threshold = round(rate * 65536)
    kept_value = 65536 / (65536 - threshold)
    assert set(np.unique(out).tolist()) == {0.0, np.float32(kept_value)}
    dropped = (out == 0).mean()
    assert abs(dropped - threshold / 65536) < 4 * np.sqrt(rate * (1 - rate) / out.size)
    assert abs(out.mean() - 1.0) < 0.02


def test_both_halves_of_each_word_are_used_independently():
    # The two 16-bit numbers of a word decide neighbouring elements: their decisions must not be correlated.
    out = np.asarray(PackedRandomDropout(0.5, seed=3)(np.ones((200_000,), "float32"), training=True)) > 0
    even, odd = out[0::2], out[1::2]
    assert abs(np.corrcoef(even, odd)[0, 1]) < 0.01
    assert abs(even.mean() - 0.5) < 0.01 and abs(odd.mean() - 0.5) < 0.01


def test_identity_when_not_training_and_rate_zero():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_array_equal(np.asarray(PackedRandomDropout(0.3)(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(PackedRandomDropout(0.0)(x, training=True)), x)


def test_seeded_layers_repeat_and_calls_differ():
    x = np.ones((8, 300), "float32")
    a, b = PackedRandomDropout(0.5, seed=7), PackedRandomDropout(0.5, seed=7)
    first = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first, np.asarray(b(x, training=True)))
    assert not np.array_equal(first, np.asarray(a(x, training=True)))


def test_gradient_is_the_mask_times_the_scale():
    layer = PackedRandomDropout(0.25, seed=1)
    x = tf.Variable(np.random.default_rng(1).normal(size=(4, 7, 9)).astype("float32"))
    with tf.GradientTape() as tape:
        out = layer(x, training=True)
        loss = tf.reduce_sum(out * 3.0)
    grad = tape.gradient(loss, x).numpy()
    kept = out.numpy() != 0
    np.testing.assert_allclose(grad, np.where(kept, 3.0 * 65536 / (65536 - 16384), 0.0), rtol=1e-6)


def test_bfloat16_inputs_and_odd_sizes_under_xla():
    layer = PackedRandomDropout(0.1, seed=2, dtype="mixed_bfloat16")
    fn = tf.function(lambda x: layer(x, training=True), jit_compile=True)
    out = fn(tf.ones((3, 5, 7), tf.bfloat16))
    assert out.dtype == tf.bfloat16 and out.shape == (3, 5, 7)
    values = out.numpy().astype("float32")
    assert set(np.unique(values).tolist()) == {0.0, float(tf.cast(65536 / 58982, tf.bfloat16))}
    big = fn(tf.ones((64, 999), tf.bfloat16)).numpy().astype("float32")
    assert abs((big == 0).mean() - 0.1) < 0.006


def test_noise_shape_falls_back_to_keras():
    out = np.asarray(PackedRandomDropout(0.5, noise_shape=(4, 1), seed=0)(np.ones((4, 6), "float32"), training=True))
    assert all(len(set(row.tolist())) == 1 for row in out)  # one decision per row, as Keras's Dropout does


def test_integer_inputs_behave_as_keras_dropout():
    ids = np.arange(12, dtype="int32").reshape(3, 4)
    ours, theirs = PackedRandomDropout(0.5, seed=4), keras.layers.Dropout(0.5, seed=4)
    try:
        expected = np.asarray(theirs(ids, training=True))
    except Exception as error:  # Keras refuses: so must we, with its error
        with pytest.raises(type(error)):
            ours(ids, training=True)
    else:
        np.testing.assert_array_equal(np.asarray(ours(ids, training=True)), expected)


def test_config_round_trip():
    layer = PackedRandomDropout(0.2, seed=5, name="drop")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is PackedRandomDropout and restored.rate == 0.2 and restored.seed == 5
