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


def test_bad_records_name_the_file_and_the_record(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [\n  {"paragraphs": [}\n]}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken.json:2: not valid JSON"):
        read_squad(str(broken))
    for qa, message in (
            ({"question": "Capital?", "answers": []}, r"data\[0\].paragraphs\[0\].qas\[0\] has no 'id'"),
            ({"id": "q", "answers": []}, r"qas\[0\] has no 'question'"),
            ({"id": "q", "question": "Capital?", "answers": [{"answer_start": 0}]},
             r"qas\[0\].answers\[0\] has no 'text'"),
            ({"id": "q", "question": "Capital?", "answers": [{"text": "Paris", "answer_start": "zero"}]},
             r"qas\[0\].answers\[0\].answer_start is 'zero', not a character offset"),
            ({"id": "q", "question": "Capital?", "answers": [{"text": "Paris", "answer_start": 0.5}]},
             r"answers\[0\].answer_start is 0.5 \(float\), not int or str"),
            ({"id": "q", "question": ["Capital?"], "answers": []}, r"qas\[0\].question is \['Capital\?'\] \(list\)")):
        with pytest.raises(ValueError, match=message):
            read_squad(_write(tmp_path, [qa]))
    path = tmp_path / "no_context.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"qas": []}]}]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"no_context.json: data\[0\].paragraphs\[0\] has no 'context'"):
        read_squad(str(path))
    # Offsets written as strings by some converters are read as ints.
    examples, _ = read_squad(_write(tmp_path, [{"id": 7, "question": "Capital?",
                                                "answers": [{"text": "Paris", "answer_start": "0"}]}]))
    assert examples[0].answers == [("Paris", 0)] and examples[0].qid == "7"
