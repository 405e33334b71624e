"""`BertPretrainer`: the encoder with BERT's pretraining heads, masked LM and next-sentence prediction.

As in google-research/bert `run_pretraining.py`: the MLM head (dense + activation + LayerNorm, logits against
the tied word embeddings plus a bias) at `masked_lm_positions` only, and the NSP head on the pooled output. The
MLM loss is the mean over real targets (`masked_lm_weights`), the NSP loss the mean over rows, and the total
their sum. Google checkpoints' `cls/predictions/*` and `cls/seq_relationship/*` (and Hugging Face's
`cls.predictions.*`, `cls.seq_relationship.*`) load into the heads.
"""

import logging

import keras

from bert_keras.layers.masked_lm_head import BertMaskedLMHead
from bert_keras.layers.next_sentence_head import NextSentenceHead
from bert_keras.models.bert_encoder import INPUT_NAMES, BertEncoder  # noqa: F401  (used by the docstring example, run by make test)
from bert_keras.models.encoder_task import EncoderTask, encoder_inputs

logger = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="bert_keras")
class BertPretrainer(EncoderTask):
    """Masked-LM and next-sentence heads on a `BertEncoder`.

    Args:
        encoder: a `BertEncoder`.

    Inputs: the encoder's three inputs plus `masked_lm_positions`, int32 [batch, predictions].
    Outputs: `{"mlm": [batch, predictions, vocab_size] logits, "nsp": [batch, 2] logits}` (float32).

    Example:
    >>> import numpy as np
    >>> model = BertPretrainer(BertEncoder.from_config_name("tiny", vocab_size=100))
    >>> features = {name: np.ones((2, 8), "int32") for name in INPUT_NAMES}
    >>> features["masked_lm_positions"] = np.array([[1, 2, 0], [3, 4, 5]], "int32")
    >>> outputs = model(features)
    >>> tuple(outputs["mlm"].shape), tuple(outputs["nsp"].shape)
    ((2, 3, 100), (2, 2))
    """

    USES_POOLER = True  # the NSP head

    def __init__(self, encoder, **kwargs):
        inputs = encoder_inputs()
        inputs["masked_lm_positions"] = keras.Input(shape=(None,), dtype="int32", name="masked_lm_positions")
        encoded = encoder({name: inputs[name] for name in INPUT_NAMES})
        policy = encoder.embeddings.dtype_policy
        mlm_head = BertMaskedLMHead(encoder.embeddings, activation=encoder.activation,
                                    layer_norm_epsilon=encoder.layer_norm_epsilon,
                                    initializer_range=encoder.initializer_range, dtype=policy, name="mlm")
        nsp_head = NextSentenceHead(encoder.hidden_dim, encoder.initializer_range, dtype=policy, name="nsp")
        outputs = {"mlm": mlm_head(encoded["sequence_output"], inputs["masked_lm_positions"]),
                   "nsp": nsp_head(encoded["pooled_output"])}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.masked_lm_head = mlm_head
        self.next_sentence_head = nsp_head

    def default_loss(self):
        """MLM cross-entropy averaged over real targets (the batches' `mlm` sample weights), NSP cross-entropy."""
        return {"mlm": keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                  reduction="mean_with_sample_weight"),
                "nsp": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}

    def default_weighted_metrics(self):
        """Accuracy and cross-entropy of both heads over real targets, logged as `mlm_accuracy`, `mlm_xent`,
        `nsp_accuracy`, `nsp_xent`.

        Pass them as `compile(weighted_metrics=...)`: Keras applies sample weights only to weighted metrics,
        and without the `mlm` weights the padding slots of `masked_lm_ids` would count as misses. `mlm_xent` is
        Google's `masked_lm_loss` (mean over every real target of the pass); read it rather than Keras's own
        per-output `mlm_loss` / `nsp_loss` logs, which Keras 3.15 averages over one update too many when it
        evaluates a dataset (with n batches they read n/(n+1) of the value; tests/models/test_bert_pretrainer.py).
        """
        return {name: [keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                       keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="xent")]
                for name in ("mlm", "nsp")}

    def head_tensors(self):
        """The heads' weights as {Google name: ndarray} (`cls/predictions/*`, `cls/seq_relationship/*`)."""
        from bert_keras.checkpoints.loader import head_tensors

        return head_tensors(self)

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        """The encoder from a checkpoint (see `BertEncoder.from_pretrained`), and the heads too where the
        checkpoint has them (a missing head is initialised randomly, with a warning)."""
        from bert_keras.checkpoints.loader import assign_head_weights, load_checkpoint

        checkpoint = load_checkpoint(path)
        model = cls(BertEncoder.from_pretrained(checkpoint, **kwargs))
        assign_head_weights(model, checkpoint)
        return model
