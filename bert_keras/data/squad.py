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
    for article in data["data"]:
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                stats["questions"] += 1
                impossible = bool(qa.get("is_impossible", False))
                answers = []
                for answer in qa.get("answers", []):
                    text, start = answer["text"], int(answer["answer_start"])
                    if context[start:start + len(text)] != text:
                        stats["skipped_answers"] += 1
                        logger.warning("%s: question %s: answer %r does not occur at offset %d (found %r); skipped.",
                                       path, qa["id"], text, start, context[start:start + len(text)])
                        continue
                    answers.append((text, start))
                if not answers and not impossible:
                    stats["skipped_questions"] += 1
                    logger.warning("%s: question %s has no valid answer and is not marked impossible; skipped.",
                                   path, qa["id"])
                    continue
                examples.append(SquadExample(qa["id"], qa["question"], context, answers, impossible))
    if not examples:
        raise ValueError(f"{path} holds no usable questions ({stats}).")
    return examples, stats
