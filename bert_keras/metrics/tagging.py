"""BIO entity spans and entity-level F1, as seqeval computes them (default, conlleval-compatible mode).

A chunk starts at `B-X`, or at `I-X` after `O` or after a chunk of another type; it ends before `O`, `B-*`
or a tag of another type. A predicted entity counts only if type, start and end all match exactly.
"""


def bio_spans(tags):
    """[(type, start, end_exclusive)] of the entities in one BIO tag sequence."""
    spans, current, start = [], None, 0
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, kind = tag.partition("-") if tag != "O" else ("O", "", "")
        if prefix not in ("B", "I", "O") or (prefix != "O" and not kind):
            raise ValueError(f"Tag {tag!r} at position {i} is not BIO (expected O, B-TYPE or I-TYPE).")
        starts = prefix == "B" or (prefix == "I" and current != kind)
        if current is not None and (prefix == "O" or starts):
            spans.append((current, start, i))
            current = None
        if prefix != "O" and (starts or current is None):
            current, start = kind, i
    return spans


def entity_f1(true_sequences, pred_sequences):
    """Micro precision, recall and F1 over exact (sentence, type, start, end) entity matches."""
    if len(true_sequences) != len(pred_sequences):
        raise ValueError(f"{len(true_sequences)} true sequences but {len(pred_sequences)} predicted.")
    true_set, pred_set = set(), set()
    for n, (t, p) in enumerate(zip(true_sequences, pred_sequences)):
        if len(t) != len(p):
            raise ValueError(f"Sequence {n}: {len(t)} true tags but {len(p)} predicted.")
        true_set.update((n,) + s for s in bio_spans(t))
        pred_set.update((n,) + s for s in bio_spans(p))
    correct = len(true_set & pred_set)
    precision = correct / len(pred_set) if pred_set else 0.0
    recall = correct / len(true_set) if true_set else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"entity_f1": f1, "entity_precision": precision, "entity_recall": recall,
            "true_entities": len(true_set), "predicted_entities": len(pred_set)}
