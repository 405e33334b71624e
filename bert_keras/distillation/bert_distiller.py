"""`BertDistiller`: task-specific knowledge distillation of a fine-tuned `BertClassifier` into a student, on text.

Leans on Keras 3's own `keras.distillation.Distiller` and `LogitsDistillation` (the teacher frozen and run in
inference mode, soft targets softmax(logits / T) compared by KL divergence and scaled by T^2, Hinton et al. 2015,
mixed with the student's own loss on the labels by `student_loss_weight`) and adds what a text model needs around
it: `fit` / `evaluate` on raw strings through the student's preprocessor (batches padded to their longest row,
grouped by length), unlabeled texts that the teacher labels, BERT's fine-tuning recipe as the `compile()` defaults
and the checks that teacher and student read the same ids. Regression distils the score by mean squared error
(a softmax over one output says nothing).

Hidden-state and attention losses (TinyBERT, Jiao et al. 2020; MiniLM, Wang et al. 2020) are ours: Keras's
`FeatureDistillation` needs a layer's symbolic output in the task model's own graph, while the encoder's blocks sit
inside the nested `BertEncoder`, are called again by the classifier's graph (so `layer.output` is ambiguous) and
return their attention probabilities only on request; and its feature extractors run the student a second time.
With `hidden_weight` / `attention_weight` set, the distiller runs each model once per step through
`BertEncoder.layer_outputs` and takes the logits, hidden states and attention probabilities from that one pass.
"""

import threading

import keras
import numpy as np
from keras import ops

from bert_keras.models.bert_classifier import BertClassifier
from bert_keras.models.bert_encoder import INPUT_NAMES
from bert_keras.models.encoder_task import (FULL_FINETUNING_LEARNING_RATE, _unpack_validation, check_learning_rate,
                                            recipe_optimizer, size_recipe_schedule)


@keras.saving.register_keras_serializable(package="bert_keras")
class BertDistiller(keras.distillation.Distiller):
    """Trains `student` on the soft targets of a frozen `teacher` and on the labels, with `fit` on text.

    Args:
        teacher: a fine-tuned `BertClassifier` with its preprocessor (frozen here).
        student: a `BertClassifier` reading the same vocabulary (`student_from_teacher` makes one), with a
            preprocessor: its texts' batches are what both models read.
        temperature: T of the soft targets (classification).
        alpha: weight of the student's loss on the labels; 1 - alpha goes to the distillation loss
            (Keras's `student_loss_weight`).
        hidden_weight: weight of the hidden-state loss, added to the above: the mean squared error between each
            student layer's output (through a learned linear map when the widths differ, TinyBERT's W_h) and
            its teacher layer's, over real tokens; the embeddings output counts as layer 0. 0 turns it off.
        attention_weight: weight of the attention loss, added likewise: KL(teacher || student) of the mapped
            blocks' attention distributions, per head and real query token (MiniLM's loss, on every mapped
            block as TinyBERT maps them). Needs the same number of heads. 0 turns it off.
        layer_map: the teacher block (0-based) each student block learns from; default the uniform map
            `uniform_layer_map`: student block i <- teacher block (i + 1) * T // S - 1, the last to the last.

    Example:
    >>> from bert_keras import BertEncoder, BertTokenizer
    >>> from bert_keras.distillation import student_from_teacher
    >>> from bert_keras.preprocessing import BertTextPreprocessor
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "film"])
    >>> teacher = BertClassifier(BertEncoder.from_config_name("tiny", vocab_size=7), labels=["neg", "pos"],
    ...                          preprocessor=BertTextPreprocessor(tokenizer, seq_length=16))
    >>> student, _ = student_from_teacher(teacher, student_layers=1, precision="float32")
    >>> distiller = BertDistiller(teacher, student, temperature=2.0, alpha=0.5)
    >>> distiller.compile(learning_rate=1e-3)
    >>> history = distiller.fit(["good film", "bad film"] * 8, ["pos", "neg"] * 8, batch_size=4, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'distillation_loss', 'loss', 'student_loss', 'total_loss']
    """

    def __init__(self, teacher, student, temperature=2.0, alpha=0.5, hidden_weight=0.0, attention_weight=0.0,
                 layer_map=None, **kwargs):
        for role, model in (("teacher", teacher), ("student", student)):
            if not isinstance(model, BertClassifier):
                raise ValueError(f"The {role} must be a BertClassifier, got {type(model).__name__}.")
        if student.preprocessor is None:
            raise ValueError("The student needs a preprocessor: fit reads texts through it (student_from_teacher "
                             "gives it the teacher's).")
        if teacher.num_classes != student.num_classes:
            raise ValueError(f"The teacher has {teacher.num_classes} outputs and the student {student.num_classes}.")
        if teacher.preprocessor is not None and \
                list(teacher.preprocessor.tokenizer.vocabulary) != list(student.preprocessor.tokenizer.vocabulary):
            raise ValueError("Teacher and student tokenizers have different vocabularies; both read the student's "
                             "ids, so they need the same vocab.txt.")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature <= 0:
            raise ValueError(f"temperature must be a positive number, got {temperature!r}.")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha (the weight of the label loss) must be in [0, 1], got {alpha!r}.")
        if student.num_classes == 1:
            loss = keras.distillation.LogitsDistillation(temperature=1.0, loss="mean_squared_error")
        else:
            # A KLDivergence instance, not Keras's default string "kl_divergence": in Keras 3.15.1 the string becomes
            # the plain function, which LogitsDistillation does not recognise as KL, so it skips the softmax and the
            # T^2 and takes the KL of raw logits clipped to [1e-7, 1] (tests: the loss against the KL by hand).
            loss = keras.distillation.LogitsDistillation(temperature=float(temperature),
                                                         loss=keras.losses.KLDivergence())
        super().__init__(teacher=teacher, student=student, distillation_losses=loss,
                         student_loss_weight=float(alpha), **kwargs)
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.hidden_weight = _non_negative("hidden_weight", hidden_weight)
        self.attention_weight = _non_negative("attention_weight", attention_weight)
        t, s = teacher.encoder, student.encoder
        self.layer_map = _checked_layer_map(layer_map, t.num_layers, s.num_layers)
        if self.attention_weight and t.num_heads != s.num_heads:
            raise ValueError(f"attention_weight needs as many heads in the student as in the teacher ({t.num_heads}); "
                             f"the student has {s.num_heads}. Pass attention_weight=0 or a student with "
                             f"{t.num_heads} heads.")
        self.hidden_projection = None
        if self.hidden_weight and t.hidden_dim != s.hidden_dim:
            self.hidden_projection = keras.layers.Dense(t.hidden_dim, use_bias=False, dtype="float32",
                                                        name="hidden_projection")
            self.hidden_projection.build((None, None, s.hidden_dim))
        if self.uses_layer_losses:  # their metrics only where they are on (History stays Keras's otherwise)
            self.hidden_loss_tracker = keras.metrics.Mean(name="hidden_loss")
            self.attention_loss_tracker = keras.metrics.Mean(name="attention_loss")
        self._last_pass = threading.local()  # the student's layer outputs of the step being traced (per replica)
        self.built = True  # both models are functional and built: BackupAndRestore and load_weights need it before fit

    def compile(self, optimizer="auto", loss="auto", metrics="auto", learning_rate=5e-5, warmup_ratio=0.1,
                weight_decay=0.01, gradient_accumulation_steps=None, **kwargs):
        """Keras `compile` with the student's fine-tuning recipe for what is left at "auto" (`EncoderTask.compile`):
        fused AdamW with warmup + linear decay sized by the first `fit`, the student's loss and metrics."""
        if check_learning_rate(learning_rate) == "auto":
            learning_rate = FULL_FINETUNING_LEARNING_RATE  # the student trains all its weights
        optimizer = recipe_optimizer(self, optimizer, learning_rate, warmup_ratio, weight_decay,
                                     gradient_accumulation_steps)
        if isinstance(loss, str) and loss == "auto":
            loss = self.student.default_loss()
        if isinstance(metrics, str) and metrics == "auto":
            metrics = self.student.default_metrics()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def teacher_labels(self, texts, batch_size=None):
        """The teacher's answers for unlabeled texts, as training targets: class ids (its argmax) or scores."""
        predictions = self.teacher.predict(texts, batch_size=batch_size, verbose=0)
        return predictions if self.student.num_classes == 1 else predictions.argmax(-1).astype("int32")

    def fit(self, x=None, y=None, unlabeled=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_data=None, shuffle=True, **kwargs):
        """Keras `fit` on text: `x` texts (or a `(texts_a, texts_b)` tuple) with labels `y` (names or ids), plus
        `unlabeled` texts that the teacher labels (its argmax class, or its score) before training.

        Returns the Keras `History` (`loss`, `student_loss`, `distillation_loss`, the student's metrics)."""
        if getattr(self.student, "labels", None) is None and getattr(self.teacher, "labels", None):
            self.student.labels = list(self.teacher.labels)  # the teacher's class order, which its soft targets use
        (targets,) = self.student._targets(y, name_classes=True)  # fit's own targets
        if unlabeled is not None and len(unlabeled):
            if isinstance(x, tuple):
                raise ValueError("unlabeled texts go with single-text classifiers, not sentence pairs.")
            from bert_keras.preprocessing.bert_text_preprocessor import text_column

            texts = text_column(x)
            extra = text_column(unlabeled, "unlabeled")
            x = list(texts) + list(extra)
            targets = np.concatenate([targets, self.teacher_labels(extra, batch_size)]).astype(targets.dtype)
        dataset, batches, _ = self.student.text_dataset(x, targets, batch_size=batch_size, training=True,
                                                        shuffle=shuffle)
        if validation_data is not None:
            validation_data = self.student.text_dataset(*_unpack_validation(validation_data),
                                                        batch_size=batch_size)[0]
        size_recipe_schedule(self, batches * epochs)
        return super().fit(dataset, epochs=epochs, verbose=verbose, callbacks=callbacks, shuffle=False,
                           validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False, **kwargs):
        """Keras `evaluate` on text: the combined loss, its parts and the student's metrics."""
        if kwargs.get("_use_cached_eval_dataset"):  # fit's validation pass
            return super().evaluate(x, y, batch_size=batch_size, verbose=verbose, return_dict=return_dict, **kwargs)
        dataset = self.student.text_dataset(x, y, batch_size=batch_size)[0]
        return super().evaluate(dataset, verbose=verbose, return_dict=return_dict, **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in ("distillation_losses", "distillation_loss_weights", "student_loss_weight"):
            config.pop(key, None)
        config.update(temperature=self.temperature, alpha=self.alpha, hidden_weight=self.hidden_weight,
                      attention_weight=self.attention_weight, layer_map=list(self.layer_map))
        return config

    # ------------------------------------------------------------------ hidden-state and attention losses

    @property
    def uses_layer_losses(self):
        """Whether a hidden-state or attention loss is on (then `call` and `compute_loss` take the one-pass path)."""
        return bool(self.hidden_weight or self.attention_weight)

    def call(self, inputs, training=None, **kwargs):
        """The student's outputs; with layer losses on, from one pass that also keeps its layer outputs for
        `compute_loss` (Keras's train and test steps call the model, then `compute_loss`, on the same `x`)."""
        if not self.uses_layer_losses:
            return super().call(inputs, training=training, **kwargs)
        outputs, hidden, probs = _task_pass(self.student, inputs, training)
        self._last_pass.value = (inputs["input_word_ids"], hidden, probs)
        return outputs

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras's loss (labels + soft targets) plus, when set, `hidden_weight` x the hidden-state loss and
        `attention_weight` x the attention loss (their metrics: `hidden_loss`, `attention_loss`)."""
        if not self.uses_layer_losses:
            return super().compute_loss(x, y, y_pred, sample_weight=sample_weight, training=training)
        last = getattr(self._last_pass, "value", None)
        if y_pred is None or last is None or last[0] is not x["input_word_ids"]:
            y_pred = self(x, training=training)
            last = self._last_pass.value
        _, student_hidden, student_probs = last
        teacher_outputs, teacher_hidden, teacher_probs = _task_pass(self.teacher, x, False)
        student_loss = 0.0
        if self.student_loss_weight > 0.0 and y is not None:
            student_loss = ops.mean(self._student_loss(y, y_pred))
        distillation_loss = 0.0
        if self.student_loss_weight < 1.0:
            distillation_loss = self.distillation_losses[0].compute_loss(teacher_outputs, y_pred)
        mask = ops.cast(x["input_mask"], "float32")
        pairs = [(0, 0)] + [(i + 1, t + 1) for i, t in enumerate(self.layer_map)]  # (student, teacher) layer
        hidden_loss = 0.0
        if self.hidden_weight:
            hidden_loss = ops.mean(ops.stack([
                self._hidden_state_loss(student_hidden[s], teacher_hidden[t], mask) for s, t in pairs]))
        attention_loss = 0.0
        if self.attention_weight:
            attention_loss = ops.mean(ops.stack([
                attention_kl(teacher_probs[t - 1], student_probs[s - 1], mask) for s, t in pairs[1:]]))
        total = (self.student_loss_weight * student_loss + (1.0 - self.student_loss_weight) * distillation_loss
                 + self.hidden_weight * hidden_loss + self.attention_weight * attention_loss)
        for tracker, value in ((self.student_loss_tracker, student_loss),
                               (self.distillation_loss_tracker, distillation_loss),
                               (self.hidden_loss_tracker, hidden_loss), (self.attention_loss_tracker, attention_loss),
                               (self.total_loss_tracker, total)):
            tracker.update_state(value)
        return total

    def _hidden_state_loss(self, student_hidden, teacher_hidden, mask):
        student_hidden = ops.cast(student_hidden, "float32")
        if self.hidden_projection is not None:
            student_hidden = self.hidden_projection(student_hidden)
        return masked_mean_squared_error(student_hidden, ops.cast(teacher_hidden, "float32"), mask)

    def reset_metrics(self):
        super().reset_metrics()
        if self.uses_layer_losses:
            self.hidden_loss_tracker.reset_state()
            self.attention_loss_tracker.reset_state()


def uniform_layer_map(teacher_layers, student_layers):
    """TinyBERT's uniform mapping: student block i (0-based) learns from teacher block (i + 1) * T // S - 1, so
    each student block stands for a run of T / S teacher blocks and the last learns from the last.

    >>> uniform_layer_map(6, 3), uniform_layer_map(12, 4), uniform_layer_map(6, 6)
    ([1, 3, 5], [2, 5, 8, 11], [0, 1, 2, 3, 4, 5])
    """
    return [(i + 1) * teacher_layers // student_layers - 1 for i in range(student_layers)]


def _checked_layer_map(layer_map, teacher_layers, student_layers):
    if layer_map is None:
        return uniform_layer_map(teacher_layers, student_layers)
    layer_map = list(layer_map)
    if len(layer_map) != student_layers or not all(
            isinstance(t, int) and not isinstance(t, bool) and 0 <= t < teacher_layers for t in layer_map):
        raise ValueError(f"layer_map must give one teacher block in [0, {teacher_layers}) for each of the student's "
                         f"{student_layers} blocks, got {layer_map!r}.")
    return layer_map


def _non_negative(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0 (0 turns the loss off), got {value!r}.")
    return float(value)


def _task_pass(model, inputs, training):
    """A `BertClassifier`'s (outputs, hidden states, attention probabilities) from one pass over every position."""
    hidden, probs = model.encoder.layer_outputs({name: inputs[name] for name in INPUT_NAMES}, training=training)
    outputs = model.per_document(model.outputs_from_sequence(hidden[-1], training=training), inputs)
    return outputs, hidden, probs


def masked_mean_squared_error(predicted, target, mask):
    """Mean over real tokens (`mask` [batch, seq] of 1 / 0) of the per-token mean squared difference."""
    per_token = ops.mean(ops.square(predicted - target), axis=-1)
    return ops.sum(per_token * mask) / ops.maximum(ops.sum(mask), 1.0)


def attention_kl(teacher_probs, student_probs, mask):
    """KL(teacher || student) of attention distributions [batch, heads, query, key], summed over keys and
    averaged over heads and real query tokens (`mask` [batch, seq]); padding keys have probability ~0 in both."""
    teacher_probs = ops.cast(teacher_probs, "float32")
    student_probs = ops.cast(student_probs, "float32")
    tiny = 1e-30  # a key the teacher gives probability 0 adds 0 (0 * log 0 -> 0)
    per_row = ops.sum(teacher_probs * (ops.log(ops.maximum(teacher_probs, tiny))
                                       - ops.log(ops.maximum(student_probs, tiny))), axis=-1)  # [batch, heads, query]
    rows = ops.expand_dims(mask, 1)
    return ops.sum(per_row * rows) / ops.maximum(ops.sum(rows) * ops.cast(ops.shape(per_row)[1], "float32"), 1.0)
