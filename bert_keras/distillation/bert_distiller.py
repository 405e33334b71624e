"""`BertDistiller`: task-specific knowledge distillation of a fine-tuned `BertClassifier` into a student, on text.

Leans on Keras 3's own `keras.distillation.Distiller` and `LogitsDistillation` (the teacher frozen and run in
inference mode, soft targets softmax(logits / T) compared by KL divergence and scaled by T^2, Hinton et al. 2015,
mixed with the student's own loss on the labels by `student_loss_weight`) and adds what a text model needs around
it: `fit` / `evaluate` on raw strings through the student's preprocessor (batches padded to their longest row,
grouped by length), unlabeled texts that the teacher labels, BERT's fine-tuning recipe as the `compile()` defaults
and the checks that teacher and student read the same ids. Regression distils the score by mean squared error
(a softmax over one output says nothing). Keras's `FeatureDistillation` needs a layer's symbolic output in the
task model's own graph; the encoder's blocks sit inside the nested `BertEncoder`, so hidden-state and attention
losses (TinyBERT, MiniLM) are not offered here.
"""

import keras
import numpy as np

from bert_keras.models.bert_classifier import BertClassifier
from bert_keras.models.encoder_task import _unpack_validation, recipe_optimizer, size_recipe_schedule


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

    def __init__(self, teacher, student, temperature=2.0, alpha=0.5, **kwargs):
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
        self.built = True  # both models are functional and built: BackupAndRestore and load_weights need it before fit

    def compile(self, optimizer="auto", loss="auto", metrics="auto", learning_rate=5e-5, warmup_ratio=0.1,
                weight_decay=0.01, gradient_accumulation_steps=None, **kwargs):
        """Keras `compile` with the student's fine-tuning recipe for what is left at "auto" (`EncoderTask.compile`):
        fused AdamW with warmup + linear decay sized by the first `fit`, the student's loss and metrics."""
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
        (targets,) = self.student._targets(y)
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
        config.update(temperature=self.temperature, alpha=self.alpha)
        return config
