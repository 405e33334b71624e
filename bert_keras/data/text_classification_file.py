"""GLUE-style TSV/CSV reader: `text[, text_b], label` rows, with or without a header row.

With a header (GLUE's own files, e.g. SST-2's `sentence<TAB>label`, MRPC-style `#1 String`/`#2 String`),
columns are found by name; without one, 2 columns are (text, label) and 3 are (text, text_b, label).
Malformed rows raise a `ValueError` naming the file and line; nothing is dropped silently.
"""

import csv
import io

from bert_keras.data.utf8_file import read_utf8

TEXT_NAMES = ("sentence", "text", "sentence1", "text_a", "question", "question1", "#1 string", "premise")
TEXT_B_NAMES = ("sentence2", "text_b", "question2", "#2 string", "hypothesis", "answer")
LABEL_NAMES = ("label", "quality", "score", "gold_label", "class")


def _delimiter(path):
    return "," if path.lower().endswith(".csv") else "\t"


def read_text_classification_file(path, regression=False):
    """Reads (texts, texts_b or None, labels, line numbers); labels are strings, or floats with `regression=True`."""
    text = read_utf8(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(path), quoting=csv.QUOTE_MINIMAL)
    rows, last = [], 0
    for row in reader:  # a row's own first line: a quoted field may span several
        if row:
            rows.append((last + 1, row))
        last = reader.line_num
    if not rows:
        raise ValueError(f"{path} is empty; expected rows of text[, text_b], label.")
    header = [c.strip().lower() for c in rows[0][1]]
    if any(name in header for name in LABEL_NAMES):
        label_col = next(header.index(n) for n in LABEL_NAMES if n in header)
        text_col = next((header.index(n) for n in TEXT_NAMES if n in header), None)
        if text_col is None:
            raise ValueError(f"{path}:1: header {rows[0][1]} has a label column but no text column "
                             f"(one of {TEXT_NAMES}).")
        text_b_col = next((header.index(n) for n in TEXT_B_NAMES if n in header), None)
        width, rows = len(header), rows[1:]
    else:
        width = len(rows[0][1])
        if width not in (2, 3):
            raise ValueError(f"{path}:{rows[0][0]}: expected 2 columns (text, label) or 3 (text, text_b, label) "
                             f"without a header, found {width}.")
        text_col, text_b_col, label_col = 0, (1 if width == 3 else None), width - 1
    texts, texts_b, labels, lines = [], [], [], []
    for line, row in rows:
        if len(row) != width:
            raise ValueError(f"{path}:{line}: expected {width} columns, found {len(row)} ({row[:4]}); a TSV "
                             "field with a tab or a CSV field with an unquoted comma or quote?")
        label = row[label_col].strip()
        if regression:
            try:
                label = float(label)
            except ValueError:
                raise ValueError(f"{path}:{line}: regression label {label!r} is not a number.") from None
        elif not label:
            raise ValueError(f"{path}:{line}: empty label.")
        lines.append(line)
        texts.append(row[text_col])
        texts_b.append(row[text_b_col] if text_b_col is not None else None)
        labels.append(label)
    if not texts:
        raise ValueError(f"{path} has a header but no data rows.")
    return texts, (texts_b if text_b_col is not None else None), labels, lines


def write_text_classification_file(path, texts, labels, texts_b=None, header=True):
    """Writes rows in the same format (TSV, or CSV for a .csv path), quoting as needed."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=_delimiter(path), lineterminator="\n")
        if header:
            writer.writerow(["sentence", "label"] if texts_b is None else ["sentence1", "sentence2", "label"])
        for i, (text, label) in enumerate(zip(texts, labels)):
            writer.writerow([text, label] if texts_b is None else [text, texts_b[i], label])
