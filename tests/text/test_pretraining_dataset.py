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


def test_corpus_pipelines_hold_out_whole_documents(minilm_tokenizer, tmp_path):
    from bert_keras.data.real_corpora import rotten_tomatoes
    from bert_keras.text.pretraining_dataset import corpus_segment_pairs, pretraining_datasets

    reviews = [text for text, _ in rotten_tomatoes()][:400]
    corpus = tmp_path / "corpus.txt"  # Google's format: a sentence per line, documents of 4 reviews
    corpus.write_text("\n\n".join("\n".join(reviews[i:i + 4]) for i in range(0, 400, 4)) + "\n", encoding="utf-8")
    train, held_out, stats = corpus_segment_pairs(str(corpus), minilm_tokenizer, 64, eval_fraction=0.1, seed=3)
    again = corpus_segment_pairs(str(corpus), minilm_tokenizer, 64, eval_fraction=0.1, seed=3)
    assert len(train) == len(again[0]) and len(held_out) == len(again[1]) > 0
    assert stats["train"]["pairs"] == len(train) and stats["eval"]["pairs"] == len(held_out)

    def token_rows(pairs):
        return {tuple(np.asarray(pairs.a[i]).tolist()) for i in range(len(pairs))}

    assert not token_rows(train) & token_rows(held_out)  # no held-out sentence is trained on
    masker = MlmMasker(minilm_tokenizer.vocabulary, 10)
    train_ds, eval_ds, stats = pretraining_datasets(minilm_tokenizer, masker, 8, 64, corpus=str(corpus),
                                                    eval_fraction=0.1, seed=3)
    assert sum(1 for _ in eval_ds) == stats["eval_batches"]
    features, labels, weights = next(iter(train_ds))
    assert features["input_word_ids"].shape[0] == 8 and 0.1 < stats["masking"]["selected_per_real_token"] < 0.2
    with pytest.raises(ValueError, match="exactly one of corpus"):
        pretraining_datasets(minilm_tokenizer, masker, 8, 64)


def test_create_pretraining_records_writes_a_file_per_pass_with_its_statistics(minilm_dir, tmp_path):
    import json
    import os

    from bert_keras.data.real_corpora import rotten_tomatoes
    from bert_keras.text.pretraining_dataset import create_pretraining_records

    reviews = [text for text, _ in rotten_tomatoes()][:120]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join("\n".join(reviews[i:i + 4]) for i in range(0, 120, 4)) + "\n", encoding="utf-8")
    vocab = os.path.join(minilm_dir, "vocab.txt")
    summary = create_pretraining_records(str(corpus), vocab, str(tmp_path / "data.tfrecord"), max_seq_length=64,
                                         max_predictions_per_seq=10, dupe_factor=2)
    assert summary["outputs"] == [str(tmp_path / f"data-0000{i}-of-00002.tfrecord") for i in (0, 1)]
    records = read_pretraining_records(summary["outputs"], 8, 64, 10, training=False)
    assert sum(int(features["input_mask"].shape[0]) for features, *_ in records) == summary["instances"] > 0
    with open(tmp_path / "data.stats.json", encoding="utf-8") as f:
        assert json.load(f) == summary
    assert 0.10 < summary["selected_per_real_token"] < 0.20  # masked_lm_prob 0.15 of the real tokens
    with pytest.raises(ValueError, match=r"dupe_factor \(--dupe_factor\) must be an int >= 1, got 0"):
        create_pretraining_records(str(corpus), vocab, str(tmp_path / "x.tfrecord"), dupe_factor=0)
