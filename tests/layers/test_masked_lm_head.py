"""BertMaskedLMHead: gathered positions, logits tied to the word embeddings, errors."""

import numpy as np
import pytest
import tensorflow as tf

from bert_keras.layers import BertEmbeddings, BertMaskedLMHead


def _embeddings():
    embeddings = BertEmbeddings(vocab_size=30, hidden_dim=8, max_sequence_length=16)
    embeddings(np.zeros((1, 4), "int32"), np.zeros((1, 4), "int32"))
    return embeddings


def test_logits_match_a_numpy_reference_and_use_the_embedding_table():
    embeddings = _embeddings()
    head = BertMaskedLMHead(embeddings, activation="relu", layer_norm_epsilon=1e-6)
    seq = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    positions = np.array([[4, 0], [2, 2]])
    logits = head(seq, positions).numpy()
    x = np.take_along_axis(seq, positions[:, :, None], axis=1) @ head.dense.kernel.numpy() + head.dense.bias.numpy()
    x = np.maximum(x, 0)
    x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-6)
    x = x * head.layer_norm.gamma.numpy() + head.layer_norm.beta.numpy()
    want = x @ embeddings.word_embeddings.numpy().T + head.output_bias.numpy()
    np.testing.assert_allclose(logits, want, atol=1e-5)
    # Tied: the table is the encoder's (one variable, not a copy), and gradients reach it.
    assert all(w is not embeddings.word_embeddings for w in head.weights)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(head(seq, positions))
    grad = tape.gradient(loss, embeddings.word_embeddings)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0
    assert head.get_config()["activation"] == "relu" and "embeddings" not in head.get_config()


def test_bad_shapes_and_standalone_deserialization_are_refused():
    head = BertMaskedLMHead(_embeddings())
    with pytest.raises(ValueError, match=r"\[batch, seq, 8\]"):
        head(np.zeros((2, 5, 6), "float32"), np.zeros((2, 1), "int32"))
    with pytest.raises(ValueError, match="BertPretrainer"):
        BertMaskedLMHead.from_config({"activation": "gelu"})
