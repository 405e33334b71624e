"""Evaluation metrics under their plain names: classification, regression, entity spans, SQuAD."""

from bert_keras.metrics.classification import accuracy, classification_metrics, macro_f1, mcc
from bert_keras.metrics.regression import pearson, regression_metrics, spearman
from bert_keras.metrics.squad import squad_metrics
from bert_keras.metrics.tagging import bio_spans, entity_f1

__all__ = ["accuracy", "classification_metrics", "macro_f1", "mcc", "pearson", "regression_metrics", "spearman",
           "squad_metrics", "bio_spans", "entity_f1"]
