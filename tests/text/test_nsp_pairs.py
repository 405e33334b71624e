"""NSP segment pairs from real BBC News documents: lengths, labels, contiguity, skips and errors."""

import numpy as np
import pytest

from bert_keras.text.nsp_pairs import PairStats, create_segment_pairs, tokenize_documents


@pytest.fixture(scope="module")
def bbc_tokenized(minilm_tokenizer):
    from bert_keras.data.pretraining_corpus import bbc_news_documents

    return tokenize_documents(minilm_tokenizer, bbc_news_documents()[::4])


def _bytes(ids):
    return np.asarray(ids, np.int32).tobytes()


def _places(stream, part):
    """Token offsets where `part` occurs in `stream` (both int32 bytes)."""
    found, start = [], stream.find(part)
    while start >= 0:
        if start % 4 == 0:
            found.append(start // 4)
        start = stream.find(part, start + 1)
    return found


def test_pairs_fit_and_labels_are_balanced(bbc_tokenized):
    labels, n = 0, 0
    for seed in range(3):
        stats = PairStats()
        pairs = create_segment_pairs(bbc_tokenized, 128, 0.1, seed, stats)
        assert pairs.lengths().max() <= 128 and min(map(len, pairs.a)) >= 1 and min(map(len, pairs.b)) >= 1
        assert stats.pairs == len(pairs) and stats.random_next == pairs.is_random_next.sum()
        labels += int(pairs.is_random_next.sum())
        n += len(pairs)
    assert n > 5000 and abs(labels / n - 0.5) < 0.02, labels / n
    # Short targets (short_seq_prob) give some short rows; most rows are close to full.
    lengths = pairs.lengths()
    assert (lengths < 64).mean() > 0.05 and np.median(lengths) > 110


def test_is_next_pairs_are_contiguous_and_random_ones_come_from_another_document(bbc_tokenized):
    pairs = create_segment_pairs(bbc_tokenized, 128, 0.1, 7)
    streams = [_bytes(np.concatenate(d)) for d in bbc_tokenized if len(d) >= 2]
    checked = {0: 0, 1: 0}
    for a, b, label in list(zip(pairs.a, pairs.b, pairs.is_random_next))[:400]:
        homes_a = [i for i, s in enumerate(streams) if _places(s, _bytes(a))]
        homes_b = [i for i, s in enumerate(streams) if _places(s, _bytes(b))]
        assert homes_a and homes_b
        if label == 0:  # B follows A in the same document (truncation only trims the outer ends)
            assert any(max(_places(streams[i], _bytes(b))) >= min(_places(streams[i], _bytes(a))) + len(a)
                       for i in set(homes_a) & set(homes_b))
        else:
            assert set(homes_b) - set(homes_a) or len(homes_b) > 1
        checked[int(label)] += 1
    assert min(checked.values()) > 150


def test_skips_and_splits_are_counted_and_errors_are_clear():
    rng = np.random.default_rng(0)
    docs = [[rng.integers(100, 200, 8) for _ in range(4)] for _ in range(3)]
    docs.append([rng.integers(100, 200, 8)])  # a one-sentence document
    docs.append([rng.integers(100, 200, 300), rng.integers(100, 200, 5)])  # a line longer than seq_length
    docs.append([[], rng.integers(100, 200, 8), rng.integers(100, 200, 8)])  # an empty sentence
    stats = PairStats()
    pairs = create_segment_pairs(docs, 64, 0.0, 1, stats)
    assert stats.single_sentence_documents == 1 and stats.long_sentences_split == 1 and stats.empty_sentences == 1
    assert pairs.lengths().max() <= 64
    with pytest.raises(ValueError, match="at least 2 documents"):
        create_segment_pairs([[rng.integers(5, 9, 4)], [rng.integers(5, 9, 4), rng.integers(5, 9, 4)]], 64)
    with pytest.raises(ValueError, match="max_seq_length"):
        create_segment_pairs(docs, 4)
