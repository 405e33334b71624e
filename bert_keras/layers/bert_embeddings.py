"""BERT's input embeddings: word + segment (token type) + learned absolute position, then LayerNorm, dropout.

Written here rather than composed from keras-hub's `ReversibleEmbedding` + `PositionEmbedding` because the
three tables must carry Google's/Hugging Face's exact layout and names for checkpoint import, and one layer
keeps the sequence-length check (longer than the position table -> a clear error) in one place.
"""

import keras
from keras import ops

from bert_keras.layers.packed_random_dropout import PackedRandomDropout


@keras.saving.register_keras_serializable(package="bert_keras")
class BertEmbeddings(keras.layers.Layer):
    """Sums word, segment and position embeddings, then applies LayerNorm and dropout.

    Args:
        vocab_size: number of WordPiece ids.
        hidden_dim: width of each embedding.
        max_sequence_length: rows of the position table; longer inputs are refused.
        type_vocab_size: number of segment ids (2 for sentence pairs).
        dropout: dropout rate applied after the LayerNorm.
        layer_norm_epsilon: LayerNorm epsilon (1e-12 in BERT).
        initializer_range: stddev of the truncated-normal initializer.

    Example:
    >>> import numpy as np
    >>> layer = BertEmbeddings(vocab_size=100, hidden_dim=8, max_sequence_length=16)
    >>> ids = np.array([[2, 5, 7, 0]], "int32")
    >>> tuple(layer(ids, ops.zeros_like(ids)).shape)
    (1, 4, 8)
    """

    def __init__(
        self,
        vocab_size,
        hidden_dim,
        max_sequence_length=512,
        type_vocab_size=2,
        dropout=0.1,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in [("vocab_size", vocab_size), ("hidden_dim", hidden_dim),
                           ("max_sequence_length", max_sequence_length), ("type_vocab_size", type_vocab_size)]:
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"BertEmbeddings: {arg} must be a positive integer, got {value!r}.")
        self.vocab_size = vocab_size
        self.hidden_dim = hidden_dim
        self.max_sequence_length = max_sequence_length
        self.type_vocab_size = type_vocab_size
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm")
        self.dropout_layer = PackedRandomDropout(dropout, dtype=self.dtype_policy, name="dropout")

    def build(self, word_ids_shape, type_ids_shape=None):
        seq_len = word_ids_shape[-1] if word_ids_shape else None
        self._check_length(seq_len)
        init = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        # autocast=False: under mixed precision Keras would cast the whole [vocab, hidden] word table (23M values
        # for BERT-base: 5 ms of a 260 ms batch-8 forward pass on 2 Zen 5 cores) before the lookup at every call;
        # here the looked-up rows are summed in the tables' dtype and the LayerNorm returns the compute dtype. (The
        # layer's own `autocast = False` is not enough: Keras ignores it when no outer layer opened a scope.)
        self.word_embeddings = self.add_weight(
            name="word_embeddings", shape=(self.vocab_size, self.hidden_dim), initializer=init, autocast=False)
        self.token_type_embeddings = self.add_weight(
            name="token_type_embeddings", shape=(self.type_vocab_size, self.hidden_dim), initializer=init,
            autocast=False)
        self.position_embeddings = self.add_weight(
            name="position_embeddings", shape=(self.max_sequence_length, self.hidden_dim), initializer=init,
            autocast=False)
        self.layer_norm.build((None, None, self.hidden_dim))
        self.built = True

    def _check_length(self, seq_len):
        if isinstance(seq_len, int) and seq_len > self.max_sequence_length:
            raise ValueError(
                f"Input sequence length {seq_len} exceeds max_sequence_length={self.max_sequence_length} "
                "(the rows of the position embedding table). Tokenize with seq_length <= "
                f"{self.max_sequence_length}, or truncate the input."
            )

    def call(self, word_ids, type_ids, training=None):
        return self.from_word_vectors(ops.take(self.word_embeddings, word_ids, axis=0), type_ids, training)

    def from_word_vectors(self, word_vectors, type_ids, training=None):
        """The rest of `call` after the word lookup: adds segment and position embeddings to `word_vectors`
        [batch, seq, hidden] (the lookup's output, or any point between two of them: what attribution methods
        such as integrated gradients differentiate), then LayerNorm and dropout."""
        self._check_length(word_vectors.shape[-2])
        seq_len = ops.shape(word_vectors)[-2]
        # The sum in the tables' dtype (float32 under mixed precision, as Hugging Face's under autocast): the
        # LayerNorm computes in float32 anyway and returns the compute dtype.
        x = ops.cast(word_vectors, self.word_embeddings.dtype)
        x = x + ops.take(self.token_type_embeddings, type_ids, axis=0)
        x = x + ops.expand_dims(self.position_embeddings[:seq_len], 0)
        x = self.layer_norm(x)
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, word_ids_shape, type_ids_shape=None):
        return tuple(word_ids_shape) + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            hidden_dim=self.hidden_dim,
            max_sequence_length=self.max_sequence_length,
            type_vocab_size=self.type_vocab_size,
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer_range=self.initializer_range,
        )
        return config
