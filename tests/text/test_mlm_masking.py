"""MLM masking on real text: the 15% rate of real tokens, 80/10/10, no specials, whole words, determinism."""

import numpy as np
import pytest

from bert_keras.text.mlm_masking import MlmMasker
from bert_keras.text.nsp_pairs import create_segment_pairs, tokenize_documents
from bert_keras.text.pretraining_dataset import masking_statistics, pretraining_dataset


@pytest.fixture(scope="module")
def bbc_pairs(minilm_tokenizer):
    from bert_keras.data.pretraining_corpus import bbc_news_documents

    return create_segment_pairs(tokenize_documents(minilm_tokenizer, bbc_news_documents()[::3]), 128, 0.1, 3)


def _batches(pairs, masker, seed=5, buckets=None):
    return pretraining_dataset(pairs, masker, 128, 128, seed=seed, training=False, buckets=buckets,
                               model_batches=False)


def test_rates_on_a_real_corpus(bbc_pairs, minilm_tokenizer):
    masker = MlmMasker(minilm_tokenizer.vocabulary, 20)
    stats = masking_statistics(_batches(bbc_pairs, masker), masker)
    assert stats["real_tokens"] > 200_000
    assert abs(stats["selected_per_real_token"] - 0.15) < 0.005, stats
    assert abs(stats["mask_share"] - 0.8) < 0.01 and abs(stats["keep_share"] - 0.1) < 0.01
    assert abs(stats["random_share"] - 0.1) < 0.01
    assert stats["specials_selected"] == 0
    assert abs(stats["nsp_random_share"] - 0.5) < 0.03


def test_targets_are_the_original_tokens_and_only_chosen_positions_change(bbc_pairs, minilm_tokenizer):
    masker = MlmMasker(minilm_tokenizer.vocabulary, 20)
    plain = next(iter(pretraining_dataset(bbc_pairs, masker, 64, 128, seed=1, training=False, model_batches=False)))
    vocab = minilm_tokenizer.vocabulary
    ids = plain["input_word_ids"].numpy()
    pos, target, weight = (plain[k].numpy() for k in ("masked_lm_positions", "masked_lm_ids", "masked_lm_weights"))
    original = ids.copy()
    rows = np.nonzero(weight)[0]
    original[rows, pos[weight > 0]] = target[weight > 0]
    changed = ids != original
    assert not (changed & ~np.isin(np.arange(128)[None, :], pos) ).any()
    for row in range(ids.shape[0]):
        chosen = pos[row][weight[row] > 0]
        assert list(chosen) == sorted(set(chosen))  # ascending, no repeats
        assert all(vocab[t] not in ("[CLS]", "[SEP]", "[PAD]") for t in original[row, chosen])
        assert (pos[row][weight[row] == 0] == 0).all() and (target[row][weight[row] == 0] == 0).all()
    random_tokens = ids[changed & (ids != masker.mask_id)]
    assert not np.isin(random_tokens, [masker.cls_id, masker.sep_id, masker.pad_id]).any()
    # The packed rows are [CLS] A [SEP] B [SEP] with segment ids 0.. then 1..
    types, mask = plain["input_type_ids"].numpy(), plain["input_mask"].numpy()
    for row in range(4):
        n = mask[row].sum()
        seps = np.nonzero(original[row, :n] == masker.sep_id)[0]
        assert original[row, 0] == masker.cls_id and len(seps) == 2 and seps[1] == n - 1
        assert (types[row, :seps[0] + 1] == 0).all() and (types[row, seps[0] + 1:n] == 1).all()


def test_whole_word_masking_takes_every_piece(bbc_pairs, minilm_tokenizer):
    vocab = minilm_tokenizer.vocabulary
    masker = MlmMasker(vocab, 20, whole_word=True)
    words_split = 0
    for batch in _batches(bbc_pairs, masker).take(6):
        pos, target, weight = (batch[k].numpy() for k in ("masked_lm_positions", "masked_lm_ids", "masked_lm_weights"))
        ids = batch["input_word_ids"].numpy()
        for row in range(ids.shape[0]):
            chosen = set(pos[row][weight[row] > 0])
            original = ids[row].copy()
            for p, t in zip(pos[row][weight[row] > 0], target[row][weight[row] > 0]):
                original[p] = t
            for p in chosen:
                if vocab[original[p]].startswith("##"):
                    words_split += (p - 1) not in chosen and not vocab[original[p - 1]] in ("[CLS]", "[SEP]")
                if p + 1 < len(original) and vocab[original[p + 1]].startswith("##"):
                    words_split += (p + 1) not in chosen
    assert words_split == 0
    stats = masking_statistics(_batches(bbc_pairs, masker), masker)
    # Words are taken while they fit, so a little under 15% (Google's whole-word masking does the same).
    assert 0.14 < stats["selected_per_real_token"] <= 0.1505 and stats["specials_selected"] == 0


def test_masks_are_deterministic_by_seed_and_new_on_every_pass(bbc_pairs, minilm_tokenizer):
    masker = MlmMasker(minilm_tokenizer.vocabulary, 20)
    first = [b["masked_lm_positions"].numpy() for b in _batches(bbc_pairs, masker, seed=9).take(2)]
    again = [b["masked_lm_positions"].numpy() for b in _batches(bbc_pairs, masker, seed=9).take(2)]
    other = [b["masked_lm_positions"].numpy() for b in _batches(bbc_pairs, masker, seed=10).take(2)]
    np.testing.assert_array_equal(first[0], again[0])
    assert (first[0] != other[0]).any()
    # A resumed run skips the batches it trained on and continues the same stream.
    full = pretraining_dataset(bbc_pairs, masker, 16, 128, seed=4, training=True, model_batches=False)
    resumed = pretraining_dataset(bbc_pairs, masker, 16, 128, seed=4, training=True, skip_batches=3,
                                  model_batches=False)
    fourth = list(full.take(4))[3]
    np.testing.assert_array_equal(next(iter(resumed))["input_word_ids"], fourth["input_word_ids"])


def test_short_rows_and_caps():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(50)]
    masker = MlmMasker(vocab, max_predictions_per_seq=3)
    ids = np.zeros((4000, 40), "int32")
    ids[:, 0], ids[:, 1:5], ids[:, 5] = 2, 10, 3      # 4 real tokens: 0.6 expected targets, at least 1
    ids[:2000, 6:36], ids[:2000, 36] = 11, 3           # or 34: 5.1 expected, capped at 3
    out = masker({"input_word_ids": ids, "input_mask": (ids > 0).astype("int32"),
                  "input_type_ids": np.zeros_like(ids)}, seed=(0, 1))
    counts = out["masked_lm_weights"].numpy().sum(1)
    assert (counts[:2000] == 3).all() and (counts[2000:] == 1).all()
    with pytest.raises(ValueError, match=r"lacks \['\[MASK\]'\]"):
        MlmMasker(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])
    with pytest.raises(ValueError, match="max_predictions_per_seq"):
        MlmMasker(vocab, 0)
