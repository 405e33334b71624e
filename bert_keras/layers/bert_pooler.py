"""BERT's pooler: tanh(Dense(h[:, 0])), the [CLS] vector used by sentence-level heads."""

import keras

from bert_keras.layers.fused_dense import FusedDense


@keras.saving.register_keras_serializable(package="bert_keras")
class BertPooler(keras.layers.Layer):
    """Takes the first ([CLS]) position of the sequence output through a tanh Dense layer.

    Args:
        hidden_dim: width of the input and output.
        initializer_range: stddev of the truncated-normal initializer.

    Example:
    >>> import numpy as np
    >>> tuple(BertPooler(hidden_dim=4)(np.zeros((2, 3, 4), "float32")).shape)
    (2, 4)
    """

    def __init__(self, hidden_dim, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.initializer_range = initializer_range
        self.dense = FusedDense(
            hidden_dim, activation="tanh", dtype=self.dtype_policy, name="dense",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, sequence_shape):
        if len(sequence_shape) != 3 or sequence_shape[-1] != self.hidden_dim:
            raise ValueError(
                f"BertPooler expects a [batch, seq, {self.hidden_dim}] sequence output, got shape {sequence_shape}.")
        self.dense.build((sequence_shape[0], self.hidden_dim))
        self.built = True

    def call(self, sequence_output):
        return self.dense(sequence_output[:, 0, :])

    def compute_output_shape(self, sequence_shape):
        return (sequence_shape[0], self.hidden_dim)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim, initializer_range=self.initializer_range)
        return config
