"""Pearson and Spearman correlation (ties get average ranks, as scipy does)."""

import numpy as np


def pearson(x, y):
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.size < 2:
        raise ValueError("Correlation needs at least 2 values.")
    x, y = x - x.mean(), y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else 0.0


def _average_ranks(values):
    values = np.asarray(values, float).ravel()
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size)
    sorted_values = values[order]
    start = 0
    for end in range(1, values.size + 1):
        if end == values.size or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranks


def spearman(x, y):
    return pearson(_average_ranks(x), _average_ranks(y))


def regression_metrics(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, float).ravel(), np.asarray(y_pred, float).ravel()
    return {"pearson": pearson(y_true, y_pred), "spearman": spearman(y_true, y_pred),
            "mse": float(np.mean((y_true - y_pred) ** 2))}
