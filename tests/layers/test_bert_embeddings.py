import numpy as np
import pytest

from bert_keras.layers import BertEmbeddings


def test_sum_of_three_tables_then_layer_norm():
    layer = BertEmbeddings(vocab_size=20, hidden_dim=6, max_sequence_length=8, dropout=0.0)
    ids = np.array([[3, 7, 1]], "int32")
    types = np.array([[0, 1, 1]], "int32")
    out = np.asarray(layer(ids, types))
    raw = (layer.word_embeddings.numpy()[ids] + layer.token_type_embeddings.numpy()[types]
           + layer.position_embeddings.numpy()[None, :3])
    mean, var = raw.mean(-1, keepdims=True), raw.var(-1, keepdims=True)
    np.testing.assert_allclose(out, (raw - mean) / np.sqrt(var + 1e-12), atol=1e-5)


def test_sequence_longer_than_position_table():
    layer = BertEmbeddings(vocab_size=20, hidden_dim=4, max_sequence_length=8)
    with pytest.raises(ValueError, match=r"length 9 exceeds max_sequence_length=8.*seq_length <= 8"):
        layer(np.zeros((1, 9), "int32"), np.zeros((1, 9), "int32"))


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="vocab_size must be a positive integer, got 0"):
        BertEmbeddings(vocab_size=0, hidden_dim=4)


def test_config_round_trip():
    layer = BertEmbeddings(vocab_size=20, hidden_dim=4, max_sequence_length=8, type_vocab_size=3, dropout=0.2)
    assert BertEmbeddings.from_config(layer.get_config()).get_config() == layer.get_config()


def test_mixed_bfloat16_keeps_float32_tables_and_returns_bfloat16():
    import tensorflow as tf

    layer = BertEmbeddings(vocab_size=50, hidden_dim=8, max_sequence_length=16, dropout=0.0, dtype="mixed_bfloat16")
    reference = BertEmbeddings(vocab_size=50, hidden_dim=8, max_sequence_length=16, dropout=0.0)
    ids, types = np.array([[3, 7, 49, 0]]), np.array([[0, 0, 1, 1]])
    layer(ids, types)
    reference(ids, types)
    reference.set_weights(layer.get_weights())
    out = layer(ids, types)
    assert out.dtype == "bfloat16" and all(w.dtype == "float32" for w in layer.weights)
    np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(reference(ids, types)), atol=0.02)
    # No cast of a whole table in the traced graph (the word table's [50, 8], segments', positions').
    graph = tf.function(lambda i, t: layer(i, t)).get_concrete_function(
        tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32)).graph
    casts = [op.inputs[0].shape.as_list() for op in graph.get_operations() if op.type == "Cast"]
    assert [50, 8] not in casts and [2, 8] not in casts and [16, 8] not in casts, casts
