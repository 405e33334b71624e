"""Pretraining batches: length bucketing cuts padding, static TFRecords round-trip, Google's records read."""

import numpy as np
import pytest

from bert_keras.text.mlm_masking import MlmMasker
from bert_keras.text.nsp_pairs import create_segment_pairs, tokenize_documents
from bert_keras.text.pretraining_dataset import (count_batches, default_buckets, masking_statistics,
                                                 pretraining_dataset, read_pretraining_records,
                                                 write_pretraining_records)


@pytest.fixture(scope="module")
def pairs(minilm_tokenizer):
    from bert_keras.data.pretraining_corpus import bbc_news_documents

    return create_segment_pairs(tokenize_documents(minilm_tokenizer, bbc_news_documents()[::10]), 128, 0.1, 2)


def test_bucketing_cuts_padding_with_few_shapes(pairs, minilm_tokenizer):
    masker = MlmMasker(minilm_tokenizer.vocabulary, 20)
    plain = pretraining_dataset(pairs, masker, 32, 128, training=False, model_batches=False)
    bucketed = pretraining_dataset(pairs, masker, 32, 128, training=False, buckets=default_buckets(128),
                                   model_batches=False)
    p, b = masking_statistics(plain, masker), masking_statistics(bucketed, masker)
    assert b["rows"] == p["rows"] == len(pairs)
    assert b["padding_fraction"] < 0.6 * p["padding_fraction"], (b, p)
    shapes = {int(x["input_word_ids"].shape[1]) for x in bucketed}
    assert shapes <= {32, 64, 96, 128}
    # The batch count Keras is told for validation equals what one pass yields, with and without buckets.
    assert count_batches(pairs, 32, 128, default_buckets(128)) == sum(1 for _ in bucketed)
    assert count_batches(pairs, 32, 128) == sum(1 for _ in plain)
    features, labels, weights = next(iter(pretraining_dataset(pairs, masker, 8, 128, buckets=[64])))
    assert sorted(features) == ["input_mask", "input_type_ids", "input_word_ids", "masked_lm_positions"]
    assert features["input_word_ids"].shape[1] in (64, 128) and labels["mlm"].shape == (8, 20)
    assert weights["nsp"].shape == (8,)


def test_records_round_trip(pairs, minilm_tokenizer, tmp_path):
    masker = MlmMasker(minilm_tokenizer.vocabulary, 20)
    source = pretraining_dataset(pairs, masker, 16, 128, seed=3, training=False, model_batches=False)
    path = str(tmp_path / "data.tfrecord")
    assert write_pretraining_records(source.take(3), path, 128, 20) == 48
    read = list(read_pretraining_records([path], 16, 128, 20, training=False, model_batches=False))
    for got, want in zip(read, source.take(3)):
        n = got["input_word_ids"].shape[1]
        assert n % 32 == 0 and n >= want["input_mask"].numpy().sum(1).max()
        for key in ("input_word_ids", "input_mask", "input_type_ids"):
            np.testing.assert_array_equal(got[key], want[key][:, :n])
        for key in ("masked_lm_positions", "masked_lm_ids", "masked_lm_weights", "next_sentence_labels"):
            np.testing.assert_array_equal(got[key], want[key])
