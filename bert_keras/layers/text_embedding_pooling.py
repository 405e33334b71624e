"""`TextEmbeddingPooling`: one vector per text from BERT's sequence output, as sentence-transformers pools it.

Mask-weighted mean over the real tokens (sentence-transformers' default, what all-MiniLM-L6-v2 was trained
with) or the [CLS] row, optionally L2-normalized so that a dot product is the cosine similarity. Computed in
float32 whatever the compute dtype. The one definition of "mean pooled" in this package: the text embedder, the
export's `embed` signature and the demo use it.
"""

import keras
from keras import ops

POOLINGS = ("mean", "cls")


@keras.saving.register_keras_serializable(package="bert_keras")
class TextEmbeddingPooling(keras.layers.Layer):
    """Pools `sequence_output` [batch, seq, hidden] with `input_mask` [batch, seq] into [batch, hidden].

    Args:
        pooling: "mean" (mask-weighted mean of the real tokens) or "cls" (the first position).
        normalize: L2-normalize each vector.

    Example:
    >>> import numpy as np
    >>> sequence = np.array([[[1.0, 0.0], [3.0, 4.0], [9.0, 9.0]]], "float32")
    >>> TextEmbeddingPooling("mean", normalize=False)(sequence, np.array([[1, 1, 0]])).numpy().tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, pooling="mean", normalize=True, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.built = True

    def call(self, sequence_output, input_mask):
        sequence = ops.cast(sequence_output, "float32")
        if self.pooling == "cls":
            pooled = sequence[:, 0, :]
        else:
            mask = ops.cast(input_mask, "float32")[:, :, None]
            pooled = ops.sum(sequence * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1e-9)
        if self.normalize:
            pooled = pooled / ops.maximum(ops.sqrt(ops.sum(pooled * pooled, axis=-1, keepdims=True)), 1e-12)
        return pooled

    def compute_output_shape(self, sequence_output_shape, input_mask_shape=None):
        return (sequence_output_shape[0], sequence_output_shape[-1])

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling, "normalize": self.normalize}
