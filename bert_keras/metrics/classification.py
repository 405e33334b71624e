"""Accuracy, macro-F1 and Matthews correlation (multi-class, Gorodkin's R_K), as scikit-learn computes them."""

import numpy as np


def _confusion(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels, y_pred {y_pred.size}.")
    if y_true.size == 0:
        raise ValueError("Cannot compute metrics on zero examples.")
    labels = np.union1d(y_true, y_pred)
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), np.int64)
    for t, p in zip(y_true, y_pred):
        matrix[index[t], index[p]] += 1
    return matrix


def accuracy(y_true, y_pred):
    matrix = _confusion(y_true, y_pred)
    return float(np.trace(matrix) / matrix.sum())


def macro_f1(y_true, y_pred):
    """Unweighted mean F1 over every label seen in y_true or y_pred (a label never predicted scores 0)."""
    matrix = _confusion(y_true, y_pred)
    tp = np.diag(matrix).astype(float)
    denom = matrix.sum(0) + matrix.sum(1)
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1.mean())


def mcc(y_true, y_pred):
    matrix = _confusion(y_true, y_pred).astype(float)
    t, p = matrix.sum(1), matrix.sum(0)
    n, c = matrix.sum(), np.trace(matrix)
    denom = np.sqrt((n * n - p @ p) * (n * n - t @ t))
    return float((c * n - t @ p) / denom) if denom > 0 else 0.0


def classification_metrics(y_true, y_pred):
    return {"accuracy": accuracy(y_true, y_pred), "macro_f1": macro_f1(y_true, y_pred), "mcc": mcc(y_true, y_pred)}
