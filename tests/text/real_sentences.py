"""A fixed, seeded sample of real sentences from the four corpora, for tokenizer parity tests."""

import random

from bert_keras.data import real_corpora


def real_sentences(per_source=500, seed=0):
    """{source: [sentences]} drawn from Rotten Tomatoes, BBC News, W-NUT 2016 and People's Daily."""
    rng = random.Random(seed)

    def sample(items):
        items = list(items)
        rng.shuffle(items)
        return items[:per_source]

    return {
        "rotten_tomatoes": sample(text for text, _ in real_corpora.rotten_tomatoes()),
        "bbc_news": sample(p for _, _, paragraphs in real_corpora.bbc_news() for p in paragraphs),
        "wnut16": sample(" ".join(tokens) for tokens, _ in real_corpora.wnut16()),
        "peoples_daily": sample("".join(word for word, _ in para) for para in real_corpora.peoples_daily()),
    }
