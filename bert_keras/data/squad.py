"""SQuAD v1.1 / v2.0 JSON reader.

Every answer is checked against its context: `context[answer_start:answer_start + len(text)]` must equal
`text`. A mismatching answer is skipped, counted and logged (with the question id); a question left with no
valid answer (and not marked impossible) is skipped too. Nothing is silently wrong.
"""

import dataclasses
import json
import logging

from bert_keras.data.utf8_file import read_utf8

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class SquadExample:
    qid: str
    question: str
    context: str
    answers: list  # [(text, char_start)]; empty for an unanswerable question
    is_impossible: bool = False


def read_squad(path):
    """Returns (examples, stats); stats counts questions, skipped answers and skipped questions."""
    try:
        data = json.loads(read_utf8(path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg}, column {e.colno}); expected a SQuAD file "
                         "with a 'data' list.") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{path} has no top-level 'data' list; is it a SQuAD v1.1/v2.0 file?")
    examples, stats = [], {"questions": 0, "skipped_answers": 0, "skipped_questions": 0}
    for i, article in enumerate(data["data"]):
        for j, paragraph in enumerate(_field(article, "paragraphs", list, path, f"data[{i}]", default=[])):
            where = f"data[{i}].paragraphs[{j}]"
            context = _field(paragraph, "context", str, path, where)
            for k, qa in enumerate(_field(paragraph, "qas", list, path, where, default=[])):
                here = f"{where}.qas[{k}]"
                qid = str(_field(qa, "id", (str, int), path, here))
                question = _field(qa, "question", str, path, here)
                stats["questions"] += 1
                impossible = bool(qa.get("is_impossible", False))
                answers = []
                for m, answer in enumerate(_field(qa, "answers", list, path, here, default=[])):
                    text = _field(answer, "text", str, path, f"{here}.answers[{m}]")
                    start = _field(answer, "answer_start", (int, str), path, f"{here}.answers[{m}]")
                    if isinstance(start, str):  # some converters write offsets as strings ("12")
                        if not start.strip().isdigit():
                            raise ValueError(f"{path}: {here}.answers[{m}].answer_start is {start!r}, not a "
                                             "character offset (an int >= 0).")
                        start = int(start)
                    if context[start:start + len(text)] != text:
                        stats["skipped_answers"] += 1
                        logger.warning("%s: question %s: answer %r does not occur at offset %d (found %r); skipped.",
                                       path, qid, text, start, context[start:start + len(text)])
                        continue
                    answers.append((text, start))
                if not answers and not impossible:
                    stats["skipped_questions"] += 1
                    logger.warning("%s: question %s has no valid answer and is not marked impossible; skipped.",
                                   path, qid)
                    continue
                examples.append(SquadExample(qid, question, context, answers, impossible))
    if not examples:
        raise ValueError(f"{path} holds no usable questions ({stats}).")
    return examples, stats


def _field(record, name, kind, path, where, default=None):
    """`record[name]` checked against `kind`; a missing or mistyped field is a `ValueError` naming the file and
    the record's place in it (JSON has no useful line for a field that is absent)."""
    if not isinstance(record, dict):
        raise ValueError(f"{path}: {where} is {type(record).__name__}, not an object; is it a SQuAD v1.1/v2.0 file?")
    if name not in record:
        if default is not None:
            return default
        raise ValueError(f"{path}: {where} has no {name!r}; SQuAD records need it (fix or drop the record).")
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f"{path}: {where}.{name} is {value!r} ({type(value).__name__}), not {names}.")
    return value
