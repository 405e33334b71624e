import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from bert_keras.text.segment_packer import _pair_lengths, pack_segments, trim_to_longest


def _lengths(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 40, n).astype("int32"), rng.integers(0, 40, n).astype("int32")


@pytest.mark.parametrize("budget", [1, 7, 20, 61])
def test_round_robin_matches_tensorflow_text_trimmer(budget):
    len_a, len_b = _lengths()
    kept_a, kept_b = _pair_lengths(tf.constant(len_a), tf.constant(len_b), budget, "round_robin")
    a = tf.RaggedTensor.from_row_lengths(tf.zeros(len_a.sum(), tf.int32), len_a)
    b = tf.RaggedTensor.from_row_lengths(tf.zeros(len_b.sum(), tf.int32), len_b)
    ref_a, ref_b = tf_text.RoundRobinTrimmer(max_seq_length=budget).trim([a, b])
    np.testing.assert_array_equal(kept_a, ref_a.row_lengths())
    np.testing.assert_array_equal(kept_b, ref_b.row_lengths())


@pytest.mark.parametrize("budget", [1, 7, 20, 61])
def test_longest_first_trims_the_longer_segment_first(budget):
    len_a, len_b = _lengths(seed=1)
    kept_a, kept_b = (x.numpy() for x in _pair_lengths(tf.constant(len_a), tf.constant(len_b), budget,
                                                       "longest_first"))
    for la, lb, ka, kb in zip(len_a, len_b, kept_a, kept_b):
        if la + lb <= budget:
            assert (ka, kb) == (la, lb)
            continue
        assert ka + kb == budget and ka <= la and kb <= lb
        if min(la, lb) <= budget - min(la, lb):  # the shorter one fits: only the longer is cut
            assert (ka == la) if la <= lb else (kb == lb)
        else:
            assert abs(int(ka) - int(kb)) <= 1


@pytest.mark.parametrize("seq_length", [5, 16, 40])
def test_matches_tensorflow_text_combine_segments(seq_length):
    rng = np.random.default_rng(seq_length)
    len_a, len_b = _lengths(60, seed=seq_length)
    a = tf.RaggedTensor.from_row_lengths(rng.integers(5, 900, len_a.sum()).astype("int32"), len_a)
    b = tf.RaggedTensor.from_row_lengths(rng.integers(5, 900, len_b.sum()).astype("int32"), len_b)
    for segments in ([a], [a, b]):
        trimmed = tf_text.RoundRobinTrimmer(max_seq_length=seq_length - len(segments) - 1).trim(segments)
        ids, types = tf_text.combine_segments(trimmed, 101, 102)
        want_ids, want_mask = tf_text.pad_model_inputs(ids, seq_length)
        want_types, _ = tf_text.pad_model_inputs(types, seq_length)
        features, _ = pack_segments(a, seq_length, 101, 102, 0, segment_b=b if len(segments) == 2 else None,
                                    truncation="round_robin")
        np.testing.assert_array_equal(features["input_word_ids"], want_ids)
        np.testing.assert_array_equal(features["input_mask"], want_mask)
        np.testing.assert_array_equal(features["input_type_ids"], want_types)


def test_packed_graph_has_no_ragged_ops():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int64)] * 2)
    def pack(values_a, splits_a, values_b, splits_b):
        a = tf.RaggedTensor.from_row_splits(values_a, splits_a, validate=False)
        b = tf.RaggedTensor.from_row_splits(values_b, splits_b, validate=False)
        return pack_segments(a, 16, 101, 102, 0, segment_b=b)[0]

    graph = pack.get_concrete_function().graph
    op_types = {op.type for op in graph.get_operations()}
    assert not {t for t in op_types if "Ragged" in t}, op_types


def test_batch_of_empty_segments():
    empty = tf.RaggedTensor.from_row_lengths(tf.zeros([0], tf.int32), [0, 0])
    features, _ = pack_segments(empty, 5, 101, 102, 0, segment_b=empty)
    assert features["input_word_ids"].numpy().tolist() == [[101, 102, 102, 0, 0]] * 2
    assert features["input_type_ids"].numpy().tolist() == [[0, 0, 1, 0, 0]] * 2


def test_unknown_truncation():
    a = tf.ragged.constant([[5]])
    with pytest.raises(ValueError, match="Unknown truncation 'random'"):
        pack_segments(a, 8, 1, 2, 0, segment_b=a, truncation="random")


def test_trim_to_longest_keeps_every_real_token():
    mask = tf.constant([[1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0]])
    features = {"input_word_ids": mask * 7, "input_mask": mask, "input_type_ids": tf.zeros_like(mask),
                "labels": tf.constant([0, 1])}
    trimmed = trim_to_longest(features)
    assert trimmed["input_word_ids"].shape == (2, 5) and trimmed["input_mask"].shape == (2, 5)
    np.testing.assert_array_equal(trimmed["input_mask"], mask[:, :5])
    np.testing.assert_array_equal(trimmed["labels"], [0, 1])  # not [batch, seq]: untouched
    empty = {"input_mask": tf.zeros([1, 8], tf.int32)}
    assert trim_to_longest(empty)["input_mask"].shape == (1, 1)
