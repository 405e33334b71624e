"""`BertClassifier`: sentence / sentence-pair classification (softmax) or regression (one score) on `pooled_output`.

Same shape as keras-hub's `BertTextClassifier` (dropout + Dense on the pooled [CLS] vector, a preprocessor owned
and saved by the model, `fit` / `predict` on strings), but on this package's encoder and its TF Hub input names,
with regression (`num_classes=1`), label names kept in the model, batches padded to their longest row and
grouped by length (`BertTextPreprocessor`), and BERT's fine-tuning recipe as the `compile()` defaults. Only
[CLS] is read, so the last transformer block runs for that position alone (`BertEncoder.pooled_output_from`,
as Model Garden's `output_range=1`): the same logits for about 20% less work on `small` (`benchmarks/`).
"""

import keras
import numpy as np
import tensorflow as tf

from bert_keras.models.bert_encoder import INPUT_NAMES
from bert_keras.models.encoder_task import EncoderTask, encoder_inputs
from bert_keras.preprocessing.bert_text_preprocessor import BertTextPreprocessor, text_column
from bert_keras.text.document_windows import WINDOW_AGGREGATIONS, aggregate_windows

WINDOW_TRAINING = ("windows", "documents")


@keras.saving.register_keras_serializable(package="bert_keras")
class BertClassifier(EncoderTask):
    """Dropout + Dense on the encoder's pooled output; with a preprocessor, it trains and predicts on text.

    Args:
        encoder: a `BertEncoder` (e.g. from `BertEncoder.from_pretrained`).
        num_classes: >= 2 for classification (outputs logits), 1 for regression (outputs the score); default
            `len(labels)`.
        dropout: dropout rate on the pooled output.
        labels: optional class names in id order; `fit` / `evaluate` then take them as targets, and the export's
            `label` output returns them. Without them, `fit` on string labels names the classes itself (sorted,
            as `trainers.finetune` does).
        preprocessor: a `BertTextPreprocessor`: `fit`, `evaluate` and `predict` take texts (a list or array
            of strings, or a `(texts_a, texts_b)` tuple of pairs, or a `tf.data.Dataset` of `(text, label)`);
            None: they take the dicts of int32 ids (`input_word_ids`, `input_mask`, `input_type_ids`).
        window_aggregation: with a preprocessor whose `long_document="windows"`: how a text's windows' logits
            make its own, "mean" or "max" (element-wise); `predict`, `evaluate` and `task_metrics` answer per
            text.
        window_training: with windows, what `fit` trains on: "documents" (batches of `batch_size` texts, the
            loss on each text's aggregated logits, as predictions are made: on BBC News 0.982 test accuracy
            against 0.968, README "Long documents") or "windows" (each window an example with its text's label;
            for several replicas, which cannot split a batch of texts' windows). Given features with
            `window_document` (the text of each window row), the model returns the aggregated logits per text.

    With a preprocessor, `predict` returns class probabilities [n, num_classes] (scores [n] for regression) in
    the input order, as the export's `probabilities` / `score`; with `preprocessor=None` the raw outputs
    (logits).

    Example:
    >>> from bert_keras import BertEncoder, BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "film"])
    >>> model = BertClassifier(BertEncoder.from_config_name("tiny", vocab_size=7), labels=["neg", "pos"],
    ...                        preprocessor=BertTextPreprocessor(tokenizer, seq_length=16))
    >>> model.compile(learning_rate=1e-3)
    >>> _ = model.fit(["good film", "bad film"] * 8, ["pos", "neg"] * 8, batch_size=4, epochs=3, verbose=0)
    >>> model.predict(["good film", "bad film"], verbose=0).shape
    (2, 2)
    """

    TEXT_TASK = True
    USES_POOLER = True

    def __init__(self, encoder, num_classes=None, dropout=0.1, labels=None, preprocessor=None,
                 window_aggregation="mean", window_training="documents", **kwargs):
        if window_aggregation not in WINDOW_AGGREGATIONS:
            raise ValueError(f"window_aggregation must be one of {WINDOW_AGGREGATIONS}, got {window_aggregation!r}.")
        if window_training not in WINDOW_TRAINING:
            raise ValueError(f"window_training must be one of {WINDOW_TRAINING}, got {window_training!r}.")
        if labels is not None:
            if isinstance(labels, (str, bytes)):
                raise ValueError(f"labels must be a list of class names in id order, got the single string {labels!r}.")
            labels = list(labels)
            for label in labels:
                if not isinstance(label, str):
                    raise ValueError(
                        f"labels are class names, strings in id order; got {label!r} ({type(label).__name__}). "
                        "Integer targets are class ids already: for classes 0..n-1 pass num_classes=n instead, or "
                        "pass the names as strings (labels=[str(name) for name in ...]).")
            if len(set(labels)) != len(labels) or len(labels) < 2:
                raise ValueError(f"labels must be >= 2 distinct class names, got {labels}.")
            if num_classes is not None and num_classes != len(labels):
                raise ValueError(f"num_classes={num_classes} but {len(labels)} labels {labels}.")
            num_classes = len(labels)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
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
        self.labels = labels
        self.window_aggregation = window_aggregation
        self.window_training = window_training
        self.preprocessor = preprocessor

    def call(self, inputs, training=None, mask=None):
        if isinstance(inputs, dict) and "window_document" in inputs:  # windows of a batch of texts -> per text
            logits = super().call({name: inputs[name] for name in INPUT_NAMES}, training=training, mask=mask)
            return self.per_document(logits, inputs)
        return super().call(inputs, training=training, mask=mask)

    def per_document(self, outputs, inputs):
        """Outputs of window rows -> one row per text (`window_aggregation`) when `inputs` holds the rows'
        `window_document` (`BertTextPreprocessor.dataset(window_documents=True)`); otherwise `outputs`."""
        if not isinstance(inputs, dict) or "window_document" not in inputs:
            return outputs
        document = inputs["window_document"]
        return aggregate_windows(outputs, document, tf.reduce_max(document) + 1, self.window_aggregation)

    def outputs_from_sequence(self, sequence_output, training=None):
        """Logits (or the regression score) from the encoder's full `sequence_output`: pooler, dropout and head,
        the layers `call` runs (which computes the last block for [CLS] alone)."""
        pooled = self.get_layer("dropout")(self.encoder.pooler(sequence_output), training=training)
        return self.get_layer("logits" if self.num_classes > 1 else "score")(pooled)

    @classmethod
    def from_pretrained(cls, path, num_classes=None, labels=None, seq_length=128, dropout=0.1, precision="auto",
                        lora_rank=None, long_document="truncate", head_tokens=None, window_stride=None,
                        max_windows=16, window_aggregation="mean", window_training="documents", **encoder_kwargs):
        """A classifier on a pretrained checkpoint, with its tokenizer, compiled with the fine-tuning recipe.

        Args:
            path: a Hugging Face or Google BERT directory, or a hub id (`org/name` or `hf://org/name`) resolved
                through the Hugging Face cache (`bert_keras.checkpoints.hub.resolve_checkpoint`).
            num_classes, labels: as the constructor (one of them).
            seq_length: the longest packed row; batches are padded only to their own longest row.
            dropout: dropout in the encoder (hidden and attention) and on the pooled output.
            precision: "auto" (mixed_bfloat16 where the CPU or GPU computes bfloat16 natively, else float32;
                `bert_keras.precision`), "float32", "mixed_bfloat16" or "mixed_float16".
            lora_rank: if set, only LoRA factors of that rank, the LayerNorms, the pooler and the head train
                (`EncoderTask.enable_lora`).
            long_document, head_tokens, window_stride, max_windows: texts longer than seq_length
                (`BertTextPreprocessor`): "truncate", "head_tail" or "windows".
            window_aggregation, window_training: as the constructor.
            **encoder_kwargs: overrides for `BertEncoder.from_pretrained` (e.g. `activation`).

        Example: `BertClassifier.from_pretrained(path, labels=["rotten", "fresh"]).fit(texts, labels)`.
        """
        encoder, tokenizer = cls._load_pretrained(path, seq_length, dropout, precision, **encoder_kwargs)
        preprocessor = BertTextPreprocessor(tokenizer, seq_length, long_document=long_document,
                                            head_tokens=head_tokens, window_stride=window_stride,
                                            max_windows=max_windows)
        model = cls(encoder, num_classes=num_classes, dropout=dropout, labels=labels, preprocessor=preprocessor,
                    window_aggregation=window_aggregation, window_training=window_training)
        return model._ready_to_train(lora_rank)

    @property
    def task(self):
        """"classify" or "regress": the export's signatures follow it."""
        return "classify" if self.num_classes > 1 else "regress"

    def default_loss(self):
        """Softmax cross-entropy on logits, or mean squared error for regression."""
        if self.num_classes == 1:
            return keras.losses.MeanSquaredError()
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_metrics(self):
        """Accuracy for classification; none for regression (its loss is the MSE)."""
        if self.num_classes == 1:
            return None
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def outputs_from_word_vectors(self, features, word_vectors):
        """Logits (or the regression score) with `word_vectors` in place of the word lookup (see
        `EncoderTask.outputs_from_word_vectors`)."""
        pooled = self.encoder.pooled_output_from(features, word_vectors=word_vectors)
        return self.get_layer("logits" if self.num_classes > 1 else "score")(pooled)

    def task_config(self):
        labels = None if self.labels is None else list(self.labels)
        return {"num_classes": self.num_classes, "dropout": self.dropout, "labels": labels,
                "window_aggregation": self.window_aggregation, "window_training": self.window_training}

    # ------------------------------------------------------------------------------------------ text path

    def _text_inputs(self, x):
        if isinstance(x, tuple):
            if len(x) != 2:
                raise ValueError(f"Sentence pairs are a tuple (texts_a, texts_b); got a tuple of {len(x)}.")
            a, b = text_column(x[0], "texts_a"), text_column(x[1], "texts_b")
            if len(a) != len(b):
                raise ValueError(f"{len(a)} texts_a but {len(b)} texts_b.")
            return a, b
        return text_column(x), None

    def _targets(self, y, name_classes=False):
        y = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
        if y.ndim != 1:
            raise ValueError(f"Targets must be 1-D (one per text), got shape {y.shape}.")
        if self.num_classes == 1:
            if y.dtype.kind not in "iuf":
                raise ValueError(f"Regression targets must be numbers, got dtype {y.dtype}.")
            y = y.astype("float32")
            bad = np.flatnonzero(~np.isfinite(y))
            if len(bad):
                raise ValueError(f"Regression target {bad[0]} is {y[bad[0]]}: targets must be finite numbers (a NaN "
                                 "or inf target turns every weight into NaN); fix or drop that row.")
            return (y,)
        if y.dtype.kind in "USO":
            names = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in y]
            if self.labels is None:
                if not name_classes:
                    raise ValueError(
                        "This model has no label names, so its targets are class ids (ints), got names "
                        f"{sorted(set(names))[:10]}: pass labels=[...] in id order when building it, or fit it on "
                        "the names first (fit names the classes, sorted).")
                found = sorted(set(names))
                if len(found) != self.num_classes:
                    raise ValueError(f"The targets hold {len(found)} class names {found[:10]} but the model has "
                                     f"num_classes={self.num_classes}; pass labels=[...] in id order.")
                self.labels = found
            index = {label: i for i, label in enumerate(self.labels)}
            for i, name in enumerate(names):
                if name not in index:
                    raise ValueError(f"Target {i} is {name!r}, not one of the model's labels {self.labels}; fix the "
                                     "label, or train a model that has it.")
            return (np.array([index[name] for name in names], "int32"),)
        if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() >= self.num_classes)):
            raise ValueError(f"Class ids must be ints in [0, {self.num_classes}), got dtype {y.dtype}"
                             + (f", range [{y.min()}, {y.max()}]" if y.dtype.kind in "iuf" and len(y) else "") + ".")
        return (y.astype("int32"),)

    def serving_outputs(self, outputs, labels=None):
        """The model's raw outputs under the export's names: `{"score"}` for regression, else
        `{"probabilities", "label_id"}` and, given label names (default: the model's), `"label"`."""
        if self.num_classes == 1:
            return {"score": outputs[:, 0]}
        # TensorFlow ops, not keras.ops: Keras's argmax adds a signbit (BitwiseAnd) test that TFLite cannot run.
        probabilities = tf.nn.softmax(outputs, axis=-1)
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        named = {"probabilities": probabilities, "label_id": label_id}
        labels = self.labels if labels is None else labels
        if labels:
            named["label"] = tf.gather(tf.constant(list(labels)), label_id)
        return named

    def _text_batches(self, x, y, sample_weight, batch_size, training, shuffle, pad_to_multiple_of):
        if not (self.windowed and self.window_training == "documents" and y is not None):
            return super()._text_batches(x, y, sample_weight, batch_size, training, shuffle, pad_to_multiple_of)
        if sample_weight is not None:
            raise ValueError("window_training='documents' takes no sample_weight.")
        replicas = self.distribute_strategy.num_replicas_in_sync  # the strategy the model was built under
        if replicas > 1:
            raise ValueError(f"window_training='documents' batches texts of varying numbers of windows, which "
                             f"tf.distribute cannot split across {replicas} replicas (it would split windows and "
                             "labels apart); train with window_training='windows' (--window_training=windows), or "
                             "on one replica.")
        texts, _ = self._text_inputs(x)
        (targets,) = self._targets(y, name_classes=training)
        if len(targets) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(targets)} labels.")
        return self.preprocessor.dataset(texts, None, (targets,), batch_size=batch_size, shuffle=shuffle,
                                         sort_by_length=not training, pad_to_multiple_of=pad_to_multiple_of,
                                         window_documents=True)

    @property
    def windowed(self):
        """True when texts are read in windows (the preprocessor's long_document="windows")."""
        return getattr(self.preprocessor, "long_document", "truncate") == "windows"

    def _rows_to_inputs(self, outputs, order):
        if not self.windowed:
            return super()._rows_to_inputs(outputs, order)
        n = int(order.max()) + 1 if len(order) else 0
        return aggregate_windows(outputs, order, n, self.window_aggregation).numpy()

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, return_dict=False,
                 **kwargs):
        """Keras `evaluate`; with windows, per text (its windows' aggregated logits): the loss (cross-entropy,
        or mean squared error for regression) and the accuracy, as Keras returns them."""
        if not self.windowed or self.preprocessor is None or kwargs.get("_use_cached_eval_dataset"):
            return super().evaluate(x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                                    return_dict=return_dict, **kwargs)
        if sample_weight is not None or isinstance(x, tf.data.Dataset):
            raise ValueError("evaluate with windows takes texts and labels (no sample_weight, no tf.data.Dataset).")
        (targets,) = self._targets(y)
        _check_count(x, targets)
        predictions = self.predict(x, batch_size=batch_size, verbose=0)
        if self.num_classes == 1:
            result = {"loss": float(np.mean((predictions - targets) ** 2))}
        else:
            picked = np.clip(predictions[np.arange(len(targets)), targets], 1e-12, 1.0)
            result = {"loss": float(-np.mean(np.log(picked))),
                      "accuracy": float(np.mean(predictions.argmax(-1) == targets))}
        return result if return_dict else list(result.values())

    def _finish_predictions(self, outputs):
        named = self.serving_outputs(outputs, labels=[])
        return keras.ops.convert_to_numpy(named["score"] if self.num_classes == 1 else named["probabilities"])

    def predict_labels(self, x, batch_size=None):
        """Label names (ids if the model has none) of the most probable class, for texts."""
        ids = self.predict(x, batch_size=batch_size, verbose=0).argmax(-1)
        return [self.labels[i] for i in ids] if self.labels else ids.tolist()

    def task_metrics(self, x, y, batch_size=None):
        """The task's metrics on texts (what `trainers.finetune` writes to metrics.json): accuracy, macro_f1 and
        mcc for classification; pearson, spearman and mse for regression."""
        from bert_keras import metrics

        (targets,) = self._targets(y)
        _check_count(x, targets)
        predictions = self.predict(x, batch_size=batch_size, verbose=0)
        if self.num_classes == 1:
            return metrics.regression_metrics(targets, predictions)
        return metrics.classification_metrics(targets, predictions.argmax(-1))


def _check_count(x, targets):
    """Refuses texts and targets of different counts before any prediction is made."""
    if isinstance(x, tuple) and len(x) == 2:  # (texts_a, texts_b)
        x = x[0]
    n = len(x) if hasattr(x, "__len__") and not isinstance(x, (str, bytes)) else None
    if n is not None and n != len(targets):
        raise ValueError(f"{n} texts but {len(targets)} labels.")
