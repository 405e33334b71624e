"""`unlabeled_texts`: texts without labels, for a teacher to label (distillation): a file with one text per line,
or a bundled corpus."""

from bert_keras.data import real_corpora
from bert_keras.data.utf8_file import read_utf8

BUNDLED_UNLABELED = {"rotten_tomatoes_plots": real_corpora.rotten_tomatoes_plots}


def unlabeled_texts(source, limit=0):
    """The texts of `source`: a bundled corpus name (`BUNDLED_UNLABELED`) or a UTF-8 file with one text per
    line (blank lines skipped); at most `limit` of them (0: all).

    Raises:
        FileNotFoundError: neither a bundled name nor an existing file (the message lists the bundled names).
        ValueError: the file is not UTF-8 (file and line named) or holds no text.

    >>> len(unlabeled_texts("rotten_tomatoes_plots", limit=5))
    5
    """
    if source in BUNDLED_UNLABELED:
        texts = list(BUNDLED_UNLABELED[source]())
    else:
        import os

        if not os.path.isfile(source):
            raise FileNotFoundError(f"Unlabeled texts {source!r}: no such file, and not a bundled corpus "
                                    f"({', '.join(BUNDLED_UNLABELED)}). Pass a UTF-8 file with one text per line.")
        texts = [line.strip() for line in read_utf8(source).splitlines() if line.strip()]
        if not texts:
            raise ValueError(f"{source}: no text in it (one text per line expected).")
    return texts[:limit] if limit else texts
