"""SQuAD exact match and F1 with the official evaluation script's answer normalisation (v1.1 and v2.0).

normalize: lower-case, drop punctuation, drop the articles a/an/the, collapse whitespace. Each prediction is
scored against its best-matching gold answer; an unanswerable question (no gold answers, v2.0) scores 1 only
for the empty prediction.
"""

import collections
import re
import string

_PUNCT = set(string.punctuation)


def normalize_answer(text):
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _f1(prediction, gold):
    pred_tokens, gold_tokens = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(predictions, gold_answers):
    """predictions: {qid: text}; gold_answers: {qid: [texts]} ([] for unanswerable). Returns percentages / 100."""
    missing = sorted(set(gold_answers) - set(predictions))
    if missing:
        raise ValueError(f"No prediction for {len(missing)} question(s), e.g. {missing[:3]}.")
    em = f1 = 0.0
    for qid, golds in gold_answers.items():
        pred = predictions[qid]
        golds = golds or [""]
        em += max(float(normalize_answer(pred) == normalize_answer(g)) for g in golds)
        f1 += max(_f1(pred, g) for g in golds)
    n = max(1, len(gold_answers))
    return {"exact_match": em / n, "f1": f1 / n}
