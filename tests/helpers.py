"""Small builders shared by tests."""

import numpy as np


def tiny_encoder(**overrides):
    from bert_keras import BertEncoder

    config = dict(vocab_size=64, hidden_dim=16, num_layers=2, num_heads=2, intermediate_dim=32,
                  max_sequence_length=24, dropout=0.0, attention_dropout=0.0)
    config.update(overrides)
    return BertEncoder(**config)


def random_features(batch=2, seq=10, vocab=64, seed=0, pad_from=None):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, seq), "int32")
    if pad_from is not None:
        mask[:, pad_from:] = 0
    return {
        "input_word_ids": rng.integers(1, vocab, (batch, seq)).astype("int32") * mask,
        "input_mask": mask,
        "input_type_ids": (rng.random((batch, seq)) > 0.5).astype("int32") * mask,
    }


def real_reviews(n, seed=0):
    """`n` real Rotten Tomatoes reviews with their labels ("fresh" / "rotten"), a fixed seeded sample."""
    import random

    from bert_keras.data import real_corpora

    rows = list(real_corpora.rotten_tomatoes())
    random.Random(seed).shuffle(rows)
    return [text for text, _ in rows[:n]], [label for _, label in rows[:n]]
