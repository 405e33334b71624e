import numpy as np
import pytest

from bert_keras.data.squad import SquadExample
from bert_keras.text.squad_features import build_qa_features, extract_answers

CONTEXT = ("Super Bowl 50 was an American football game. The Denver Broncos defeated the Carolina Panthers "
           "24–10 to earn their third Super Bowl title. The game was played at Levi's Stadium in Santa Clara, "
           "California, on February 7, 2016. Café owners nearby stayed open late.")


def _example(answer, qid="q", impossible=False):
    start = CONTEXT.index(answer) if answer else 0
    return SquadExample(qid, "Who won?", CONTEXT, [] if impossible else [(answer, start)], impossible)


def test_windows_overlap_and_labels_point_at_the_answer(minilm_tokenizer):
    example = _example("Levi's Stadium")
    f = build_qa_features(minilm_tokenizer, [example], seq_length=32, doc_stride=8)
    assert len(f["example_index"]) > 3  # the context needs several windows
    labelled = np.nonzero(f["start_positions"])[0]
    assert len(labelled) >= 1
    for row in labelled:
        s, e = f["start_positions"][row], f["end_positions"][row]
        b0, b1 = f["context_start"][row][s], f["context_end"][row][e]
        assert CONTEXT.encode()[b0:b1].decode() == "Levi's Stadium"
    # windows where the answer is not whole are labelled [CLS]
    assert (f["start_positions"] == 0).sum() == len(f["example_index"]) - len(labelled)


def test_extraction_returns_the_exact_original_substring(minilm_tokenizer):
    examples = [_example("Café owners"), _example("24–10", qid="q2")]
    f = build_qa_features(minilm_tokenizer, examples, seq_length=48, doc_stride=16)
    start = np.full(f["input_word_ids"].shape, -10.0)
    end = np.full(f["input_word_ids"].shape, -10.0)
    for row in range(len(f["example_index"])):
        if f["start_positions"][row]:
            start[row, f["start_positions"][row]] = 10.0
            end[row, f["end_positions"][row]] = 10.0
    answers = extract_answers(examples, f, start, end)
    assert answers["q"]["text"] == "Café owners" and answers["q2"]["text"] == "24–10"
    for qid, text in [("q", "Café owners"), ("q2", "24–10")]:
        assert CONTEXT[answers[qid]["start"]:answers[qid]["end"]] == text


def test_no_answer_when_cls_wins_in_version_2(minilm_tokenizer):
    examples = [_example("", impossible=True)]
    f = build_qa_features(minilm_tokenizer, examples, seq_length=64, doc_stride=32)
    assert f["start_positions"].tolist() == [0] * len(f["example_index"])
    start = np.zeros(f["input_word_ids"].shape)
    start[:, 0] = 5.0
    answers = extract_answers(examples, f, start, start.copy(), allow_no_answer=True)
    assert answers["q"]["text"] == "" and answers["q"]["start"] == -1
    assert extract_answers(examples, f, start, start.copy(), allow_no_answer=False)["q"]["text"] != ""


def test_seq_length_too_small_for_question(minilm_tokenizer):
    with pytest.raises(ValueError, match="leaves no room for context"):
        build_qa_features(minilm_tokenizer, [_example("Levi's Stadium")], seq_length=5)
