"""`NextSentenceHead`: BERT's next-sentence-prediction classifier on the pooled [CLS] output.

A 2-way Dense, stored the way Google stores it (`cls/seq_relationship/output_weights` is [2, hidden], so the
kernel here is its transpose). Label 0 = B follows A, 1 = B is a random segment, as in Google's data.
"""

import keras

from bert_keras.layers.fused_dense import FusedDense


@keras.saving.register_keras_serializable(package="bert_keras")
class NextSentenceHead(keras.layers.Layer):
    """Logits [batch, 2] (0: is next, 1: random next) from the pooled output.

    Args:
        hidden_dim: width of the pooled output.
        initializer_range: stddev of the truncated-normal initializer.

    Example:
    >>> import numpy as np
    >>> tuple(NextSentenceHead(hidden_dim=8)(np.zeros((3, 8), "float32")).shape)
    (3, 2)
    """

    def __init__(self, hidden_dim, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.initializer_range = initializer_range
        self.dense = FusedDense(
            2, dtype=self.dtype_policy, name="dense",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, pooled_shape):
        if len(pooled_shape) != 2 or pooled_shape[-1] != self.hidden_dim:
            raise ValueError(f"NextSentenceHead expects a [batch, {self.hidden_dim}] pooled output, got shape "
                             f"{pooled_shape}.")
        self.dense.build((None, self.hidden_dim))
        self.built = True

    def call(self, pooled_output):
        return keras.ops.cast(self.dense(pooled_output), "float32")

    def compute_output_shape(self, pooled_shape):
        return (pooled_shape[0], 2)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim, initializer_range=self.initializer_range)
        return config
