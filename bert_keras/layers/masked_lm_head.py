"""`BertMaskedLMHead`: BERT's masked-LM head, with output weights tied to the word embeddings.

Same computation as google-research/bert `get_masked_lm_output` and keras-hub's `MaskedLMHead`: gather the
masked positions, dense + activation + LayerNorm, then logits against the (shared) word-embedding table plus
an output bias. Written here because keras-hub's head ties to its own `ReversibleEmbedding`, not to this
package's `BertEmbeddings`, and its weight names do not line up with Google's `cls/predictions/*`.
"""

import keras
from keras import ops

from bert_keras.layers.fused_dense import FusedDense
from bert_keras.layers.transformer_block import get_activation


@keras.saving.register_keras_serializable(package="bert_keras")
class BertMaskedLMHead(keras.layers.Layer):
    """Masked-LM logits at given positions, the output projection tied to a `BertEmbeddings` word table.

    Args:
        embeddings: the encoder's `BertEmbeddings` layer; its `word_embeddings` table is the output projection.
            It is not part of `get_config` (it belongs to the encoder): `BertPretrainer` passes it again when
            it is deserialized, as keras-hub's `MaskedLMHead` does with its `token_embedding`.
        activation: of the transform, `gelu` (BERT's), `gelu_approximate` or `relu`.
        layer_norm_epsilon: LayerNorm epsilon.
        initializer_range: stddev of the truncated-normal initializer.

    Call arguments:
        sequence_output: [batch, seq, hidden] encoder output.
        masked_positions: int [batch, predictions] positions to predict.

    Returns: logits [batch, predictions, vocab_size].

    Example:
    >>> import numpy as np
    >>> from bert_keras.layers import BertEmbeddings
    >>> embeddings = BertEmbeddings(vocab_size=50, hidden_dim=8, max_sequence_length=16)
    >>> _ = embeddings(np.zeros((1, 4), "int32"), np.zeros((1, 4), "int32"))
    >>> head = BertMaskedLMHead(embeddings)
    >>> tuple(head(np.zeros((2, 4, 8), "float32"), np.array([[1, 2], [0, 3]])).shape)
    (2, 2, 50)
    """

    def __init__(self, embeddings, activation="gelu", layer_norm_epsilon=1e-12, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        if not hasattr(embeddings, "word_embeddings") and not hasattr(embeddings, "vocab_size"):
            raise ValueError(f"BertMaskedLMHead needs the encoder's BertEmbeddings layer, got {embeddings!r}.")
        # Held outside Keras's tracking: the table is saved once, with the encoder.
        object.__setattr__(self, "_embeddings", embeddings)
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.dense = FusedDense(
            embeddings.hidden_dim, activation=get_activation(activation), dtype=self.dtype_policy, name="dense",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))
        self.layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, dtype=self.dtype_policy,
                                                          name="layer_norm")

    @property
    def vocab_size(self):
        return self._embeddings.vocab_size

    def build(self, sequence_output_shape, masked_positions_shape=None):
        hidden = self._embeddings.hidden_dim
        sequence_shape, positions_shape = sequence_output_shape, masked_positions_shape
        if len(sequence_shape) != 3 or sequence_shape[-1] != hidden:
            raise ValueError(f"BertMaskedLMHead expects a [batch, seq, {hidden}] sequence output, got shape "
                             f"{sequence_shape}.")
        if positions_shape is not None and len(positions_shape) != 2:
            raise ValueError(f"masked_positions must be [batch, predictions], got shape {positions_shape}.")
        self.dense.build((None, None, hidden))
        self.layer_norm.build((None, None, hidden))
        self.output_bias = self.add_weight(name="output_bias", shape=(self.vocab_size,), initializer="zeros")
        self.built = True

    def call(self, sequence_output, masked_positions):
        positions = ops.cast(masked_positions, "int32")
        x = ops.take_along_axis(sequence_output, positions[:, :, None], axis=1)
        x = self.layer_norm(self.dense(x))
        table = ops.cast(self._embeddings.word_embeddings, x.dtype)
        logits = ops.matmul(x, ops.transpose(table))
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def compute_output_shape(self, sequence_output_shape, masked_positions_shape):
        return (sequence_output_shape[0], masked_positions_shape[1], self.vocab_size)

    def get_config(self):
        config = super().get_config()
        config.update(activation=self.activation, layer_norm_epsilon=self.layer_norm_epsilon,
                      initializer_range=self.initializer_range)
        return config

    @classmethod
    def from_config(cls, config):
        raise ValueError("BertMaskedLMHead is restored by BertPretrainer, which passes the encoder's embeddings; "
                         "deserialize the BertPretrainer rather than the head alone.")
