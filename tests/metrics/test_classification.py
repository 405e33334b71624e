import numpy as np
import pytest

from bert_keras.metrics import accuracy, classification_metrics, macro_f1, mcc


def test_binary_values_by_hand():
    y_true = [1, 1, 1, 0, 0, 0, 0, 1]
    y_pred = [1, 0, 1, 0, 0, 1, 0, 1]
    tp, tn, fp, fn = 3, 3, 1, 1
    assert accuracy(y_true, y_pred) == 0.75
    assert mcc(y_true, y_pred) == pytest.approx((tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
    assert macro_f1(y_true, y_pred) == pytest.approx(0.75)


def test_multiclass_macro_f1_counts_unpredicted_classes_as_zero():
    y_true = [0, 1, 2, 2]
    y_pred = [0, 1, 1, 1]
    # F1 per class: 1.0, 2*1/(1+3)=0.5, 0.0
    assert macro_f1(y_true, y_pred) == pytest.approx(0.5)


def test_mcc_perfect_and_constant():
    assert mcc([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)
    assert mcc([0, 1, 1], [1, 1, 1]) == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="zero examples"):
        accuracy([], [])
    with pytest.raises(ValueError, match="y_true has 2 labels, y_pred 3"):
        classification_metrics([1, 0], [1, 0, 1])
