"""CoNLL / BIO reader: one `token ... tag` line per token (tab or space separated, the tag last), a blank line
between sentences, `-DOCSTART-` lines skipped (CoNLL-2003)."""

from bert_keras.data.utf8_file import read_utf8


def read_conll(path):
    """Returns [(tokens, tags)] per sentence; a line with a single column raises with file and line."""
    sentences, tokens, tags = [], [], []
    for line_no, line in enumerate(read_utf8(path).split("\n"), start=1):
        line = line.rstrip("\n").rstrip("\r")
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if fields[0] == "-DOCSTART-":
            continue
        if len(fields) < 2:
            raise ValueError(f"{path}:{line_no}: expected 'token tag', found {line!r}.")
        tag = fields[-1].strip()
        if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
            raise ValueError(f"{path}:{line_no}: tag {tag!r} is not BIO (O, B-TYPE or I-TYPE).")
        tokens.append(fields[0])
        tags.append(tag)
    if tokens:
        sentences.append((tokens, tags))
    if not sentences:
        raise ValueError(f"{path} is empty; expected 'token tag' lines with blank lines between sentences.")
    return sentences


def write_conll(path, sentences):
    with open(path, "w", encoding="utf-8") as f:
        for tokens, tags in sentences:
            for token, tag in zip(tokens, tags):
                f.write(f"{token}\t{tag}\n")
            f.write("\n")
