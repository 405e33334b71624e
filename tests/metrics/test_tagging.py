import pytest

from bert_keras.metrics import bio_spans, entity_f1


def test_seqeval_readme_example():
    # seqeval's README: f1_score(y_true, y_pred) == 0.50
    y_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    assert entity_f1(y_true, y_pred)["entity_f1"] == pytest.approx(0.5)


def test_spans_follow_conlleval_rules():
    assert bio_spans(["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-ORG"]) == [
        ("PER", 0, 2), ("LOC", 3, 5), ("LOC", 5, 6), ("ORG", 6, 7)]


def test_exact_type_and_boundaries_required():
    true = [["B-PER", "I-PER", "O"]]
    assert entity_f1(true, [["B-PER", "O", "O"]])["entity_f1"] == 0.0
    assert entity_f1(true, [["B-ORG", "I-ORG", "O"]])["entity_f1"] == 0.0


def test_bad_tags_and_lengths():
    with pytest.raises(ValueError, match="Tag 'X-PER' at position 0 is not BIO"):
        bio_spans(["X-PER"])
    with pytest.raises(ValueError, match="Sequence 0: 2 true tags but 1 predicted"):
        entity_f1([["O", "O"]], [["O"]])
