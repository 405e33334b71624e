"""Masked-LM masking of packed batches with dense, stateless TF ops (runs inside `tf.data`, deterministic by seed).

Why not tensorflow-text's `mask_language_model` + `RandomItemSelector`: its selection rate applies to the
whole row, [CLS] and [SEP] included, so a rate of 0.15 masks about 16.2% of the real tokens (measured on 128-token rows), and
its draws are stateful (a resumed or multi-worker run cannot reproduce them). Here, per row:

- candidates are real tokens (`input_mask == 1`) other than [CLS], [SEP], [PAD] and [MASK];
- the number to predict is `mask_rate * candidates`, stochastically rounded (so the expected rate is exactly
  `mask_rate` also for short rows), at least 1, at most `max_predictions_per_seq`;
- positions are chosen uniformly (whole-word: words chosen uniformly, a word's `##` pieces with it, words
  taken in random order while they fit, as Google's `--do_whole_word_mask` does);
- each chosen token becomes [MASK] with probability 0.8, stays with 0.1, and becomes a random non-special
  vocab token with 0.1 (Google draws from the whole vocab, [CLS] and [unused*] included).

Outputs carry Google's pretraining feature layout: `masked_lm_positions` / `masked_lm_ids` /
`masked_lm_weights` of length `max_predictions_per_seq`, positions ascending, padded with 0 / 0 / 0.0.
"""

import tensorflow as tf

from bert_keras.text.vocab import BERT_RESERVED_TOKENS

_NEVER_RANDOM = BERT_RESERVED_TOKENS  # never drawn as the random replacement


class MlmMasker:
    """Chooses and replaces the masked-LM targets of packed batches.

    Args:
        vocabulary: the vocab as a list of tokens (must contain [CLS], [SEP], [PAD], [MASK]).
        max_predictions_per_seq: the most targets per row (20 for seq 128 in BERT).
        mask_rate: fraction of candidate tokens to predict.
        whole_word: mask whole words (a word and its `##` pieces together).

    Example:
    >>> import numpy as np
    >>> masker = MlmMasker(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(20)],
    ...                    max_predictions_per_seq=4)
    >>> ids = np.array([[2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 3, 0, 0]], "int32")
    >>> out = masker({"input_word_ids": ids, "input_mask": (ids > 0).astype("int32"),
    ...               "input_type_ids": np.zeros_like(ids)}, seed=(1, 2))
    >>> int(out["masked_lm_weights"].numpy().sum())  # 10 candidates x 0.15 -> 1 or 2
    2
    """

    def __init__(self, vocabulary, max_predictions_per_seq=20, mask_rate=0.15, whole_word=False):
        vocabulary = list(vocabulary)
        missing = [t for t in ("[CLS]", "[SEP]", "[PAD]", "[MASK]") if t not in vocabulary]
        if missing:
            raise ValueError(f"The vocab lacks {missing}, which masked-LM pretraining needs. Learn the vocab with "
                             "trainers.build_vocab (it reserves [PAD] [UNK] [CLS] [SEP] [MASK]) or add the tokens.")
        if not isinstance(max_predictions_per_seq, int) or max_predictions_per_seq < 1:
            raise ValueError(f"max_predictions_per_seq must be a positive int, got {max_predictions_per_seq!r}.")
        if not 0.0 < mask_rate < 1.0:
            raise ValueError(f"mask_rate must be in (0, 1), got {mask_rate}.")
        index = {t: i for i, t in enumerate(vocabulary)}
        self.vocab_size = len(vocabulary)
        self.cls_id, self.sep_id = index["[CLS]"], index["[SEP]"]
        self.pad_id, self.mask_id = index["[PAD]"], index["[MASK]"]
        self.max_predictions_per_seq = max_predictions_per_seq
        self.mask_rate = mask_rate
        self.whole_word = bool(whole_word)
        never = set(_NEVER_RANDOM)
        self._random_ids = tf.constant(
            [i for i, t in enumerate(vocabulary) if t not in never and not (t.startswith("[") and t.endswith("]"))],
            tf.int32)
        self._is_continuation = tf.constant([t.startswith("##") for t in vocabulary], tf.bool)

    def candidates(self, word_ids, input_mask):
        """Bool [batch, seq]: the positions that may be chosen."""
        special = ((word_ids == self.cls_id) | (word_ids == self.sep_id) | (word_ids == self.pad_id)
                   | (word_ids == self.mask_id))
        return (input_mask > 0) & ~special

    def __call__(self, features, seed):
        """Masks a packed batch.

        Args:
            features: {input_word_ids, input_mask, input_type_ids}, int32 [batch, seq] (other keys pass through).
            seed: a shape-[2] int seed for the stateless draws (e.g. (run seed, batch number)).

        Returns:
            The features with `input_word_ids` masked and `masked_lm_positions`, `masked_lm_ids` (int32) and
            `masked_lm_weights` (float32), each [batch, max_predictions_per_seq].
        """
        ids = tf.cast(features["input_word_ids"], tf.int32)
        mask = tf.cast(features["input_mask"], tf.int32)
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)
        shape = tf.shape(ids)
        batch, seq = shape[0], shape[1]
        k = min(self.max_predictions_per_seq, ids.shape[1]) if ids.shape[1] is not None else tf.minimum(
            self.max_predictions_per_seq, seq)

        candidate = self.candidates(ids, mask)
        n_candidates = tf.reduce_sum(tf.cast(candidate, tf.float32), axis=1)
        expected = self.mask_rate * n_candidates
        num = tf.floor(expected + tf.random.stateless_uniform([batch], seeds[0]))
        num = tf.minimum(tf.maximum(num, tf.minimum(1.0, n_candidates)), n_candidates)
        num = tf.cast(tf.minimum(num, float(self.max_predictions_per_seq)), tf.int32)

        positions = tf.range(seq)[tf.newaxis, :]
        noise = tf.random.stateless_uniform(shape, seeds[1])
        if self.whole_word:
            starts = candidate & ~tf.gather(self._is_continuation, ids)
            # A word is a start token and the continuation candidates after it; its id is the count of starts.
            word = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1
            word = tf.where(candidate & (word >= 0), word, seq)  # orphans (## after [CLS]) and non-candidates
            segment = word + (seq + 1) * tf.range(batch)[:, tf.newaxis]  # one id per (row, word)
            first = tf.math.unsorted_segment_min(tf.tile(positions, [batch, 1]), segment, batch * (seq + 1))
            first = tf.reshape(first, [batch, seq + 1])  # a word's first position (int max when unused)
            word_noise = tf.gather(noise, tf.clip_by_value(first, 0, seq - 1), batch_dims=1)
            length = tf.math.bincount(tf.reshape(segment, [-1]), minlength=batch * (seq + 1),
                                      maxlength=batch * (seq + 1))
            length = tf.reshape(length, [batch, seq + 1])
            score = tf.gather(word_noise, word, batch_dims=1)
            offset = positions - tf.minimum(tf.gather(first, word, batch_dims=1), seq)
            token_word_length = tf.gather(length, word, batch_dims=1)
            valid_word = candidate & (word < seq)
        else:
            score = noise
            valid_word = candidate
        score = tf.where(valid_word, score, -1.0)
        top_score, top = tf.math.top_k(score, k=k)  # ties keep position order: a word's pieces stay together
        rank = tf.range(k)[tf.newaxis, :]
        if self.whole_word:
            fits = (rank - tf.gather(offset, top, batch_dims=1)
                    + tf.gather(token_word_length, top, batch_dims=1)) <= num[:, tf.newaxis]
        else:
            fits = rank < num[:, tf.newaxis]
        chosen = fits & (top_score >= 0.0)

        # Positions ascending, unused slots last, then zeroed.
        sort_key = tf.where(chosen, top, seq + rank)
        order = tf.argsort(sort_key, axis=1, stable=True)
        chosen = tf.gather(chosen, order, batch_dims=1)
        lm_positions = tf.where(chosen, tf.gather(top, order, batch_dims=1), 0)
        lm_ids = tf.where(chosen, tf.gather(ids, lm_positions, batch_dims=1), 0)

        action = tf.random.stateless_uniform(tf.shape(lm_positions), seeds[2])
        random_tokens = tf.gather(self._random_ids, tf.random.stateless_uniform(
            tf.shape(lm_positions), seeds[3], maxval=tf.shape(self._random_ids)[0], dtype=tf.int32))
        replacement = tf.where(action < 0.8, self.mask_id, tf.where(action < 0.9, lm_ids, random_tokens))
        rows = tf.tile(tf.range(batch)[:, tf.newaxis], [1, k])
        indices = tf.stack([tf.boolean_mask(rows, chosen), tf.boolean_mask(lm_positions, chosen)], axis=1)
        masked_ids = tf.tensor_scatter_nd_update(ids, indices, tf.boolean_mask(replacement, chosen))

        pad = self.max_predictions_per_seq - k

        def pad_to(x):
            return tf.pad(x, [[0, 0], [0, pad]]) if not isinstance(pad, int) or pad > 0 else x

        out = dict(features)
        out["input_word_ids"] = masked_ids
        p = self.max_predictions_per_seq
        out["masked_lm_positions"] = tf.ensure_shape(pad_to(lm_positions), [None, p])
        out["masked_lm_ids"] = tf.ensure_shape(pad_to(lm_ids), [None, p])
        out["masked_lm_weights"] = tf.ensure_shape(pad_to(tf.cast(chosen, tf.float32)), [None, p])
        return out
