import json
import logging

import pytest

from bert_keras.data.real_corpora import package_file
from bert_keras.data.squad import read_squad


def test_real_fixture():
    examples, stats = read_squad(package_file("allennlp", "tests", "fixtures", "data", "squad.json"))
    assert stats == {"questions": 5, "skipped_answers": 0, "skipped_questions": 0}
    for e in examples:
        for text, start in e.answers:
            assert e.context[start:start + len(text)] == text


def _write(tmp_path, qas):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "t", "paragraphs": [
        {"context": "Paris is the capital of France.", "qas": qas}]}]}), encoding="utf-8")
    return str(path)


def test_mismatched_offsets_are_counted_and_logged(tmp_path, caplog):
    path = _write(tmp_path, [
        {"id": "ok", "question": "Capital?", "answers": [{"text": "Paris", "answer_start": 0},
                                                         {"text": "Paris", "answer_start": 3}]},
        {"id": "bad", "question": "Country?", "answers": [{"text": "France", "answer_start": 1}]},
        {"id": "none", "question": "Mayor?", "answers": [], "is_impossible": True},
    ])
    with caplog.at_level(logging.WARNING):
        examples, stats = read_squad(path)
    assert [e.qid for e in examples] == ["ok", "none"]
    assert stats == {"questions": 3, "skipped_answers": 2, "skipped_questions": 1}
    assert "question bad" in caplog.text and "does not occur at offset 1" in caplog.text
    assert examples[1].is_impossible and examples[1].answers == []


def test_not_squad(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="no top-level 'data' list"):
        read_squad(str(path))
