"""`BertSpanQA`: SQuAD-style extractive QA, start and end logits over every position.

keras-hub has no span-QA task. Windowing of long contexts, answer labels and n-best answer extraction are in
`bert_keras.text.squad_features`; the no-answer case of SQuAD 2.0 is the [CLS] position (index 0).
"""

import keras
from keras import ops

from bert_keras.models.bert_encoder import INPUT_NAMES  # noqa: F401  (used by the docstring example, run by make test)
from bert_keras.models.encoder_task import EncoderTask, encoder_inputs


@keras.saving.register_keras_serializable(package="bert_keras")
class SpanLogits(keras.layers.Layer):
    """Dense(2) over the sequence, split into start / end logits; padding positions get -1e9."""

    def __init__(self, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            2, dtype=self.dtype_policy, name="dense",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, sequence_shape, mask_shape=None):
        self.dense.build(sequence_shape)
        self.built = True

    def call(self, sequence, mask):
        logits = ops.cast(self.dense(sequence), "float32")
        pad = (1.0 - ops.cast(mask, "float32")) * -1e9
        return {"start_logits": logits[..., 0] + pad, "end_logits": logits[..., 1] + pad}

    def get_config(self):
        return {**super().get_config(), "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package="bert_keras")
class BertSpanQA(EncoderTask):
    """Outputs {"start_logits", "end_logits"}, each float32 [batch, seq].

    Args:
        encoder: a `BertEncoder`.

    Example:
    >>> import numpy as np
    >>> from bert_keras import BertEncoder
    >>> model = BertSpanQA(BertEncoder.from_config_name("tiny", vocab_size=100))
    >>> tuple(model({name: np.ones((2, 8), "int32") for name in INPUT_NAMES})["start_logits"].shape)
    (2, 8)
    """

    def __init__(self, encoder, **kwargs):
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        outputs = SpanLogits(encoder.initializer_range, dtype="float32", name="span_logits")(
            sequence, inputs["input_mask"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder

    task = "qa"

    def default_loss(self):
        """Cross-entropy of the start and of the end position."""
        ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return {"start_logits": ce, "end_logits": ce}

    def serving_outputs(self, outputs):
        """The raw outputs under the export's names: `{"start_logits", "end_logits"}`."""
        return {"start_logits": outputs["start_logits"], "end_logits": outputs["end_logits"]}
