"""`BertClassifier`: sentence / sentence-pair classification (softmax) or regression (one score) on `pooled_output`.

Same shape as keras-hub's `BertTextClassifier` (dropout + Dense on the pooled [CLS] vector), but on this
package's encoder and its TF Hub input names, and with regression (`num_classes=1`). Only [CLS] is read, so
the last transformer block runs for that position alone (`BertEncoder.pooled_output_from`, as Model Garden's
`output_range=1`): the same logits for about 20% less work on `small` (`benchmarks/`).
"""

import keras

from bert_keras.models.bert_encoder import INPUT_NAMES, BertEncoder  # noqa: F401  (docstring example)
from bert_keras.models.encoder_task import EncoderTask, encoder_inputs


@keras.saving.register_keras_serializable(package="bert_keras")
class BertClassifier(EncoderTask):
    """Dropout + Dense on the encoder's pooled output.

    Args:
        encoder: a `BertEncoder` (e.g. from `BertEncoder.from_pretrained`).
        num_classes: >= 2 for classification (outputs logits), 1 for regression (outputs the score).
        dropout: dropout rate on the pooled output.

    Example:
    >>> import numpy as np
    >>> model = BertClassifier(BertEncoder.from_config_name("tiny", vocab_size=100), num_classes=3)
    >>> features = {name: np.ones((2, 8), "int32") for name in INPUT_NAMES}
    >>> tuple(model(features).shape)
    (2, 3)
    """

    def __init__(self, encoder, num_classes, dropout=0.1, **kwargs):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be 1 (regression) or >= 2 (classes), got {num_classes!r}.")
        inputs = encoder_inputs()
        # The encoder's layers, the last block for [CLS] only: same pooled output, less work.
        pooled = encoder.pooled_output_from(inputs)
        pooled = keras.layers.Dropout(dropout, name="dropout")(pooled)
        outputs = keras.layers.Dense(
            num_classes, name="logits" if num_classes > 1 else "score", dtype="float32",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=encoder.initializer_range))(pooled)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.num_classes = num_classes
        self.dropout = dropout

    def default_loss(self):
        """Softmax cross-entropy on logits, or mean squared error for regression."""
        if self.num_classes == 1:
            return keras.losses.MeanSquaredError()
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def task_config(self):
        return {"num_classes": self.num_classes, "dropout": self.dropout}
