import numpy as np
import pytest
import tensorflow as tf

from bert_keras.text.document_windows import aggregate_windows, document_windows, head_and_tail


def rows(lengths, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(5, 1000, n).tolist() for n in lengths]


LENGTHS = [0, 1, 5, 9, 10, 11, 17, 40, 123]


def test_head_and_tail_keeps_both_ends_of_long_rows_only():
    data = rows(LENGTHS)
    got = head_and_tail(tf.ragged.constant(data, dtype=tf.int32), 10, 3).to_list()
    for row, kept in zip(data, got):
        assert kept == (row if len(row) <= 10 else row[:3] + row[-7:])
    assert head_and_tail(tf.ragged.constant(data, dtype=tf.int32), 10, 0).to_list()[-1] == data[-1][-10:]
    with pytest.raises(ValueError, match="head_tokens must be in \\[0, 10\\]"):
        head_and_tail(tf.ragged.constant(data, dtype=tf.int32), 10, 11)


@pytest.mark.parametrize("budget, stride, cap", [(10, 5, 64), (10, 10, 64), (10, 3, 2), (4, 1, 64)])
def test_windows_cover_every_token_as_written_out(budget, stride, cap):
    data = rows(LENGTHS, seed=budget + stride)
    offsets = [[10 * i for i in range(len(r))] for r in data]
    ids, doc, counts, capped, (windowed_offsets,) = document_windows(
        tf.ragged.constant(data, dtype=tf.int32), budget, stride, cap,
        extras=[tf.ragged.constant(offsets, dtype=tf.int32)])
    expected, expected_doc, expected_offsets = [], [], []
    for d, row in enumerate(data):
        starts = [0] + list(range(stride, max(len(row) - budget, 0) + stride, stride))
        starts = [s for s in starts if s == 0 or s - stride + budget < len(row)]
        needed = len(starts)
        assert bool(capped.numpy()[d]) == (needed > cap)
        for s in starts[:cap]:
            expected.append(row[s:s + budget])
            expected_offsets.append(offsets[d][s:s + budget])
            expected_doc.append(d)
        if needed <= cap:  # every token is read
            assert expected[-1][-1:] == row[-1:]
    assert ids.to_list() == expected and doc.numpy().tolist() == expected_doc
    assert windowed_offsets.to_list() == expected_offsets
    assert counts.numpy().tolist() == [expected_doc.count(d) for d in range(len(data))]


def test_bad_window_settings():
    ids = tf.ragged.constant([[1, 2, 3]])
    with pytest.raises(ValueError, match="window_stride must be in \\[1, 4\\]"):
        document_windows(ids, 4, 5, 8)
    with pytest.raises(ValueError, match="max_windows must be >= 1"):
        document_windows(ids, 4, 2, 0)


def test_aggregation():
    logits = np.array([[1.0, 4.0], [3.0, 0.0], [5.0, 5.0]], "float32")
    np.testing.assert_allclose(aggregate_windows(logits, [0, 0, 1], 2, "mean"), [[2, 2], [5, 5]])
    np.testing.assert_allclose(aggregate_windows(logits, [0, 0, 1], 2, "max"), [[3, 4], [5, 5]])
    with pytest.raises(ValueError, match="Unknown window aggregation 'median'"):
        aggregate_windows(logits, [0, 0, 1], 2, "median")


def _check_is_max_context(spans, span_index, position):
    """Google BERT's run_squad.py `_check_is_max_context`, over (start, length) spans."""
    best_score, best_span_index = None, None
    for index, (start, length) in enumerate(spans):
        end = start + length - 1
        if position < start or position > end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_span_index = score, index
    return span_index == best_span_index


@pytest.fixture(scope="module")
def untrained_tagger():
    """An untrained tagger: its labels depend on each piece's context, so every window labels pieces differently."""
    import keras

    from bert_keras import BertEncoder, BertTokenClassifier

    keras.utils.set_random_seed(12)
    return BertTokenClassifier(BertEncoder.from_config_name("tiny", vocab_size=1000), num_labels=9)


@pytest.mark.parametrize("seq_length, stride, cap", [(12, 5, 64), (12, 10, 64), (12, 3, 3), (6, 1, 64)])
def test_max_context_labels_follow_run_squad_over_every_window(untrained_tagger, seq_length, stride, cap):
    from bert_keras.text.document_windows import max_context_labels
    from bert_keras.text.segment_packer import pack_segments

    model = untrained_tagger
    data = rows(LENGTHS, seed=stride)
    labels, counts, capped = max_context_labels(model, tf.ragged.constant(data, dtype=tf.int32), seq_length, 1, 2, 0,
                                                stride, cap)
    budget = seq_length - 2
    for d, row in enumerate(data):
        starts = [0] + list(range(stride, max(len(row) - budget, 0) + stride, stride))
        starts = [s for s in starts if s == 0 or s - stride + budget < len(row)][:cap]
        spans = [(s, min(budget, len(row) - s)) for s in starts]
        # Each window on its own row, padded to seq_length (one batch: rows do not see each other).
        features, _ = pack_segments(tf.ragged.constant([row[s:s + n] for s, n in spans], dtype=tf.int32,
                                                       ragged_rank=1), seq_length, 1, 2, 0)
        best = np.asarray(model(features)).argmax(-1)
        window_labels = [best[i, 1:n + 1] for i, (_, n) in enumerate(spans)]
        read = min(len(row), spans[-1][0] + spans[-1][1])
        want = [next(int(window_labels[i][p - s]) for i, (s, n) in enumerate(spans)
                     if s <= p < s + n and _check_is_max_context(spans, i, p)) for p in range(read)]
        assert labels[d].numpy().tolist() == want, d
        assert counts.numpy()[d] == len(spans) and bool(capped.numpy()[d]) == (read < len(row))
