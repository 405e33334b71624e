"""Knowledge distillation of fine-tuned classifiers into smaller students (`BertDistiller`, `student_from_teacher`)."""

from bert_keras.distillation.bert_distiller import BertDistiller
from bert_keras.distillation.student_models import student_from_teacher, teacher_layers_to_keep

__all__ = ["BertDistiller", "student_from_teacher", "teacher_layers_to_keep"]
