import os
import platform

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_keras.layers.fused_dense import FusedDense
from bert_keras.layers.transformer_block import gelu_approximate


def _pair(units, activation=None, in_dim=8):
    """A FusedDense and a keras Dense with the same weights."""
    ours, theirs = FusedDense(units, activation=activation), keras.layers.Dense(units, activation=activation)
    ours.build((None, in_dim))
    theirs.build((None, in_dim))
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(in_dim, units)).astype("float32"), rng.normal(size=(units,)).astype("float32")]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


@pytest.mark.parametrize("shape", [(5, 8), (2, 5, 8), (2, 3, 4, 8)])
@pytest.mark.parametrize("activation", [None, "gelu", gelu_approximate, "relu"])
def test_equals_keras_dense(shape, activation):
    ours, theirs = _pair(16, activation)
    x = np.random.default_rng(1).normal(size=shape).astype("float32")
    out = np.asarray(ours(x))
    assert out.shape == shape[:-1] + (16,)
    np.testing.assert_allclose(out, np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", ["gelu", gelu_approximate, "relu", None])
def test_training_equals_keras_dense_with_gradients(activation):
    ours, theirs = _pair(16, activation)
    x = tf.constant(np.random.default_rng(7).normal(size=(2, 5, 8)).astype("float32"))
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.range(16, dtype=tf.float32))
        results.append([y] + tape.gradient(loss, [x] + layer.trainable_weights))
    # The tanh form's float32 slope differs from TensorFlow's autodiff by up to 4e-6 (both are that close to
    # float64: test_fused_gelu), summed here over 10 rows weighted up to 15.
    tolerance = 1e-4 if activation is gelu_approximate else 1e-5
    for got, expected in zip(*results):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("activation", ["gelu", gelu_approximate])
def test_training_runs_the_gelu_as_one_xla_call_and_inference_leaves_it_to_the_fusion(activation):
    ours, _ = _pair(16, activation)

    def graph_ops(training, layer=ours):
        fn = tf.function(lambda x: layer(x, training=training))
        graph = fn.get_concrete_function(tf.TensorSpec((None, None, 8), tf.float32)).graph.as_graph_def()
        return {n.op for n in graph.node}, [n.attr["_XlaMustCompile"].b for n in graph.node if "Call" in n.op]

    ops, xla_calls = graph_ops(training=True)
    assert xla_calls == [True] and not ops & {"Erfc", "Tanh", "Mul"}
    ops, xla_calls = graph_ops(training=False)  # the form grappler fuses into the matmul (test below)
    assert xla_calls == [] and ops & {"Erfc", "Tanh"}

    # Keras hands the layer the training flag of the model it sits in (our blocks do not pass it by hand).
    inputs = keras.Input((None, 8))
    model = keras.Model(inputs, ours(keras.layers.Activation("linear")(inputs)))
    assert graph_ops(training=True, layer=model)[1] == [True]
    assert graph_ops(training=False, layer=model)[1] == []


def test_unknown_leading_dims_in_a_traced_function():
    ours, theirs = _pair(16, "gelu")
    fn = tf.function(lambda x: ours(x), input_signature=[tf.TensorSpec((None, None, 8), tf.float32)])
    x = np.random.default_rng(2).normal(size=(3, 7, 8)).astype("float32")
    np.testing.assert_allclose(fn(x).numpy(), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    assert fn.get_concrete_function().structured_outputs.shape.as_list() == [None, None, 16]


def test_lora_and_int8_go_through_keras_dense():
    ours, theirs = _pair(16)
    x = np.random.default_rng(3).normal(size=(2, 5, 8)).astype("float32")
    for layer in (ours, theirs):
        layer.enable_lora(2)
        layer.lora_kernel_b.assign(np.full((2, 16), 0.1, "float32"))
        layer.lora_kernel_a.assign(np.full((8, 2), 0.2, "float32"))
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    ours, theirs = _pair(16)
    ours.quantize("int8")
    theirs.quantize("int8")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    # Keras's Dense refuses subclasses and Model.quantize would skip them with a warning: ours must go through.
    inputs = keras.Input((5, 8))
    model = keras.Model(inputs, FusedDense(16, name="fused")(inputs))
    model.quantize("int8")
    assert model.get_layer("fused").quantization_mode == "int8"


@pytest.mark.parametrize("lora", [False, True])
def test_mixed_bfloat16_equals_keras_dense(lora):
    ours, theirs = FusedDense(16, activation="gelu", dtype="mixed_bfloat16"), keras.layers.Dense(
        16, activation="gelu", dtype="mixed_bfloat16")
    x = np.random.default_rng(4).normal(size=(2, 5, 8)).astype("float32")
    ours(x)
    theirs(x)
    if lora:
        for layer in (ours, theirs):
            layer.enable_lora(2)
    theirs.set_weights(ours.get_weights())
    out = ours(x)
    assert ours._kernel.dtype == "float32" and out.dtype == "bfloat16"
    np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(theirs(x), "float32"), rtol=0.02, atol=0.02)


def test_inputs_keras_dense_reconciles_go_to_it():
    ours, theirs = _pair(16)
    ids = np.arange(10, dtype="int32").reshape(2, 5, 1).repeat(8, axis=-1)  # integers: ops.matmul casts
    np.testing.assert_allclose(np.asarray(ours(ids)), np.asarray(theirs(ids)), rtol=1e-5, atol=1e-5)
    # Called outside its autocast scope (`.call` directly): a bfloat16 input meets the float32 kernel, which a bare
    # tf.matmul refuses; Keras's Dense computes in the common dtype.
    x = tf.cast(np.random.default_rng(5).normal(size=(2, 5, 8)), tf.bfloat16)
    mixed, plain = FusedDense(16, dtype="mixed_bfloat16"), keras.layers.Dense(16, dtype="mixed_bfloat16")
    mixed(x)
    plain(x)
    plain.set_weights(mixed.get_weights())
    out = mixed.call(x)
    assert out.dtype == plain.call(x).dtype
    np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(plain.call(x), "float32"), rtol=1e-5, atol=1e-5)


def test_keras_file_round_trip_in_safe_mode(tmp_path):
    inputs = keras.Input((5, 8))
    model = keras.Model(inputs, FusedDense(4, activation=gelu_approximate, name="fused")(inputs))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(6).normal(size=(2, 5, 8)).astype("float32")
    assert type(loaded.get_layer("fused")) is FusedDense
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)


def _fused_matmuls(layer_fn, in_dim=8):
    """The MatMul nodes of `layer_fn`'s graph after TensorFlow's graph optimizer (grappler), as placed on a CPU."""
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.python.grappler import tf_optimizer

    fn = tf.function(layer_fn).get_concrete_function(tf.TensorSpec((None, None, in_dim), tf.float32))
    meta = tf.compat.v1.train.export_meta_graph(graph_def=fn.graph.as_graph_def(), graph=fn.graph)
    meta.collection_def["train_op"].node_list.value.extend([t.name.split(":")[0] for t in fn.outputs])
    for node in meta.graph_def.node:
        node.device = "/job:localhost/replica:0/task:0/device:CPU:0"
    graph = tf_optimizer.OptimizeGraph(config_pb2.ConfigProto(), meta)
    return [(n.op, [s.decode() for s in n.attr["fused_ops"].list.s]) for n in graph.node if "MatMul" in n.op]


@pytest.mark.skipif(os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" or platform.machine() not in ("x86_64", "AMD64"),
                    reason="the fusion is grappler's oneDNN remapper's (x86 builds, TF_ENABLE_ONEDNN_OPTS on)")
def test_tensorflow_fuses_bias_and_gelu_into_the_matmul():
    ours, theirs = _pair(16, "gelu")
    assert _fused_matmuls(lambda x: ours(x)) == [("_FusedMatMul", ["BiasAdd", "GeluExact"])]
    # Control: Keras's own Dense (tensordot + AddV2) leaves a bare MatMul and the GELU as separate ops.
    assert _fused_matmuls(lambda x: theirs(x)) == [("MatMul", [])]


def test_get_config_round_trip():
    layer = FusedDense(4, activation=gelu_approximate, name="d")
    clone = FusedDense.from_config(layer.get_config())
    assert clone.units == 4 and clone.activation is gelu_approximate
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is FusedDense and restored.activation is gelu_approximate
