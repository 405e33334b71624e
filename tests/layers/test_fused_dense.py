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


def test_mixed_bfloat16_computes_in_bfloat16():
    layer = FusedDense(16, activation="gelu", dtype="mixed_bfloat16")
    out = layer(np.ones((2, 5, 8), "float32"))
    assert layer.kernel.dtype == "float32" and out.dtype == "bfloat16"


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
