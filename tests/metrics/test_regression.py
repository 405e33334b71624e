import numpy as np
import pytest

from bert_keras.metrics import pearson, regression_metrics, spearman


def test_pearson_matches_numpy():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])


def test_spearman_with_ties_uses_average_ranks():
    # ranks x: [1, 2.5, 2.5, 4], y: [1, 2, 3, 4]
    expected = np.corrcoef([1, 2.5, 2.5, 4], [1, 2, 3, 4])[0, 1]
    assert spearman([1, 5, 5, 9], [10, 20, 30, 40]) == pytest.approx(expected)
    assert spearman([1, 2, 3], [9, 4, 1]) == pytest.approx(-1.0)


def test_regression_metrics_keys():
    out = regression_metrics([1.0, 2.0, 3.0], [1.5, 2.0, 2.5])
    assert set(out) == {"pearson", "spearman", "mse"} and out["mse"] == pytest.approx(1 / 6)


def test_too_few_values():
    with pytest.raises(ValueError, match="at least 2"):
        pearson([1.0], [2.0])
