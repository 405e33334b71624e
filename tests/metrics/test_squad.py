import pytest

from bert_keras.metrics import squad_metrics
from bert_keras.metrics.squad import normalize_answer


def test_official_normalisation():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("an apple, a pear") == "apple pear"


def test_best_gold_answer_counts():
    out = squad_metrics({"q1": "the Denver Broncos", "q2": "Santa Clara"},
                        {"q1": ["Denver Broncos", "Broncos"], "q2": ["Levi's Stadium", "Santa Clara, California"]})
    assert out["exact_match"] == pytest.approx(0.5)
    # q2 F1: pred {santa, clara} vs gold {santa, clara, california}: P=1, R=2/3 -> 0.8
    assert out["f1"] == pytest.approx((1.0 + 0.8) / 2)


def test_unanswerable_scores_only_empty_prediction():
    assert squad_metrics({"q": ""}, {"q": []}) == {"exact_match": 1.0, "f1": 1.0}
    assert squad_metrics({"q": "something"}, {"q": []}) == {"exact_match": 0.0, "f1": 0.0}


def test_missing_prediction():
    with pytest.raises(ValueError, match="No prediction for 1 question"):
        squad_metrics({}, {"q": ["a"]})
