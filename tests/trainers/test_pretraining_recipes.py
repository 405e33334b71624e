import numpy as np

from trainers.pretraining_recipes import shuffle_context


def _batch():
    # Two rows: [CLS] a b [SEP] c d e [SEP] (pad pad) and a shorter one; targets at positions 2, 5 and 3.
    ids = np.array([[101, 11, 12, 102, 13, 14, 15, 102, 0, 0],
                    [101, 21, 22, 23, 102, 24, 102, 0, 0, 0]], np.int32)
    mask = (ids > 0).astype(np.int32)
    types = np.array([[0, 0, 0, 0, 1, 1, 1, 1, 0, 0],
                      [0, 0, 0, 0, 0, 1, 1, 0, 0, 0]], np.int32)
    positions = np.array([[2, 5, 0], [3, 0, 0]], np.int32)
    weights = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": types,
            "masked_lm_positions": positions}, weights


def test_shuffle_context_moves_tokens_and_keeps_targets_aligned():
    features, weights = _batch()
    before = {k: v.copy() for k, v in features.items()}
    out = shuffle_context(features, weights, np.random.default_rng(3))
    for k in features:  # the input is not modified
        np.testing.assert_array_equal(features[k], before[k])
    np.testing.assert_array_equal(out["input_mask"], features["input_mask"])
    assert not np.array_equal(out["input_word_ids"], features["input_word_ids"])
    for r in range(2):
        n = int(features["input_mask"][r].sum())
        assert out["input_word_ids"][r, 0] == 101  # [CLS] stays first
        assert sorted(out["input_word_ids"][r, :n]) == sorted(features["input_word_ids"][r, :n])
        np.testing.assert_array_equal(out["input_word_ids"][r, n:], 0)  # padding untouched
        # every token keeps its segment id
        pairs_in = sorted(zip(features["input_word_ids"][r, :n], features["input_type_ids"][r, :n]))
        pairs_out = sorted(zip(out["input_word_ids"][r, :n], out["input_type_ids"][r, :n]))
        assert pairs_in == pairs_out
        for j in np.flatnonzero(weights[r]):  # each target is still asked for where its token went
            old, new = features["masked_lm_positions"][r, j], out["masked_lm_positions"][r, j]
            assert out["input_word_ids"][r, new] == features["input_word_ids"][r, old]
        np.testing.assert_array_equal(out["masked_lm_positions"][r][weights[r] == 0], 0)
