"""`tf.data` pipelines for MLM + NSP pretraining: dynamic masking from segment pairs, or Google-format TFRecords.

Dynamic (default): `SegmentPairs` -> pack `[CLS] A [SEP] B [SEP]` -> batches bucketed by length (padded only to
the bucket's length: few distinct shapes, so XLA compiles a handful of programs) -> `MlmMasker` with the
stateless seed (seed, batch number): every pass over the data draws new masks, and a resumed or
multi-worker run draws the same ones as an uninterrupted single process.

Static: `write_pretraining_records` writes what Google's `create_pretraining_data.py` writes (tf.Examples with
`input_ids`, `input_mask`, `segment_ids`, `masked_lm_positions`, `masked_lm_ids`, `masked_lm_weights`,
`next_sentence_labels`, padded to `max_seq_length`), so records made by either tool train here, and
`read_pretraining_records` trims each batch to its longest row (rounded up to `multiple`).

Every batch is `(features, labels, sample_weights)` for `BertPretrainer`: features are the TF Hub inputs plus
`masked_lm_positions`; labels `{"mlm": masked_lm_ids, "nsp": next_sentence_labels}`; sample weights
`{"mlm": masked_lm_weights, "nsp": 1}`.
"""

import logging
import os
import random
import time

import numpy as np
import tensorflow as tf

from bert_keras.data.pipeline import PREFETCH_BATCHES, pipeline_options
from bert_keras.data.utf8_file import atomic_output, atomic_write_json
from bert_keras.models.bert_encoder import INPUT_NAMES

logger = logging.getLogger(__name__)

FEATURE_NAMES = ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions")
# Google's TFRecord names -> ours.
_RECORD_NAMES = {"input_ids": "input_word_ids", "input_mask": "input_mask", "segment_ids": "input_type_ids",
                 "masked_lm_positions": "masked_lm_positions", "masked_lm_ids": "masked_lm_ids",
                 "masked_lm_weights": "masked_lm_weights", "next_sentence_labels": "next_sentence_labels"}


def default_buckets(seq_length, step=32):
    """Bucket lengths `step, 2*step, ..., seq_length` (seq_length always the last)."""
    return sorted({min(seq_length, b) for b in range(step, seq_length + step, step)})


def _pairs_dataset(pairs, cls_id, sep_id):
    def ragged(rows):
        return tf.RaggedTensor.from_row_lengths(np.concatenate(rows).astype(np.int32),
                                                np.array([len(r) for r in rows], np.int64))
    a, b = ragged(pairs.a), ragged(pairs.b)
    ds = tf.data.Dataset.from_tensor_slices({"a": a, "b": b, "label": pairs.is_random_next})

    def pack(x):
        ids = tf.concat([[cls_id], x["a"], [sep_id], x["b"], [sep_id]], axis=0)
        types = tf.concat([tf.zeros([tf.shape(x["a"])[0] + 2], tf.int32),
                           tf.ones([tf.shape(x["b"])[0] + 1], tf.int32)], axis=0)
        return {"input_word_ids": ids, "input_mask": tf.ones_like(ids), "input_type_ids": types,
                "next_sentence_labels": x["label"]}
    return ds.map(pack)


def _to_model_batch(f):
    features = {name: f[name] for name in FEATURE_NAMES}
    labels = {"mlm": f["masked_lm_ids"], "nsp": tf.cast(f["next_sentence_labels"], tf.int32)}
    weights = {"mlm": f["masked_lm_weights"], "nsp": tf.ones_like(tf.cast(f["next_sentence_labels"], tf.float32))}
    return features, labels, weights


def pretraining_dataset(pairs, masker, batch_size, seq_length, seed=0, training=True, buckets=None,
                        skip_batches=0, model_batches=True):
    """Batches of masked pretraining features from segment pairs (dynamic masking).

    Args:
        pairs: `SegmentPairs` (rows no longer than `seq_length` when packed).
        masker: an `MlmMasker`.
        batch_size: global batch size.
        seq_length: the longest packed length.
        seed: seeds the shuffle and the masks.
        training: repeat forever, reshuffle each pass, drop the last partial batch; else one pass in order.
        buckets: lengths to pad batches to (e.g. `default_buckets(seq_length)`), or None to pad every batch
            to `seq_length`.
        skip_batches: batches to skip first (a resumed run continues the stream where it stopped).
        model_batches: yield (features, labels, sample_weights) for `BertPretrainer`; else flat feature dicts.
    """
    if len(pairs) == 0:
        raise ValueError("No pretraining pairs: the corpus gave no segment pairs.")
    longest = int(pairs.lengths().max())
    if longest > seq_length:
        raise ValueError(f"A packed pair has {longest} tokens, more than seq_length={seq_length}; build the pairs "
                         "with the same max_seq_length.")
    ds = _pairs_dataset(pairs, masker.cls_id, masker.sep_id)
    if training:
        ds = ds.repeat().shuffle(min(len(pairs), 100_000), seed=seed, reshuffle_each_iteration=True)
    padded = {"input_word_ids": [None], "input_mask": [None], "input_type_ids": [None], "next_sentence_labels": []}
    if buckets:
        buckets = sorted(set(int(b) for b in buckets))
        if buckets[-1] < seq_length:
            buckets.append(seq_length)
        ds = ds.bucket_by_sequence_length(
            lambda x: tf.shape(x["input_word_ids"])[0], bucket_boundaries=[b + 1 for b in buckets],
            bucket_batch_sizes=[batch_size] * (len(buckets) + 1), padded_shapes=padded,
            pad_to_bucket_boundary=True, drop_remainder=training)
    else:
        ds = ds.padded_batch(batch_size, padded_shapes={**padded, "input_word_ids": [seq_length],
                                                        "input_mask": [seq_length], "input_type_ids": [seq_length]},
                             drop_remainder=training)
    ds = ds.enumerate()
    if skip_batches:
        ds = ds.skip(skip_batches)
    ds = ds.map(lambda i, f: masker(f, tf.stack([tf.cast(seed, tf.int64), i])),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if model_batches:
        ds = ds.map(_to_model_batch)
    return ds.with_options(pipeline_options()).prefetch(PREFETCH_BATCHES)


def _int_feature(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def write_pretraining_records(batches, path, seq_length, max_predictions_per_seq):
    """Writes flat feature batches (from `pretraining_dataset(..., model_batches=False)`) as Google tf.Examples,
    each padded to `seq_length`; written aside and renamed into place. Returns the number of examples."""
    count = 0
    with atomic_output(path) as tmp:
        with tf.io.TFRecordWriter(tmp) as writer:
            for batch in batches:
                batch = {k: v.numpy() for k, v in batch.items()}
                for row in range(batch["input_word_ids"].shape[0]):
                    pad = seq_length - batch["input_word_ids"].shape[1]
                    feature = {}
                    for google, ours in _RECORD_NAMES.items():
                        value = batch[ours][row]
                        if ours in INPUT_NAMES:
                            value = np.pad(value, (0, pad))
                        if ours == "masked_lm_weights":
                            feature[google] = tf.train.Feature(float_list=tf.train.FloatList(value=value.tolist()))
                        else:
                            feature[google] = _int_feature(np.atleast_1d(value))
                    writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
                    count += 1
    return count


def read_pretraining_records(files, batch_size, seq_length, max_predictions_per_seq, seed=0, training=True,
                             multiple=32, skip_batches=0, model_batches=True):
    """Batches from Google-format pretraining TFRecords, each trimmed to its longest row (a multiple of
    `multiple`, at most `seq_length`)."""
    if not files:
        raise ValueError("No pretraining TFRecord files given.")
    spec = {google: tf.io.FixedLenFeature([seq_length], tf.int64)
            for google in ("input_ids", "input_mask", "segment_ids")}
    spec.update({"masked_lm_positions": tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64),
                 "masked_lm_ids": tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64),
                 "masked_lm_weights": tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32),
                 "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64)})
    ds = tf.data.TFRecordDataset(list(files))
    if training:
        ds = ds.repeat().shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=training)
    if skip_batches:
        ds = ds.skip(skip_batches)

    def parse(serialized):
        raw = tf.io.parse_example(serialized, spec)
        f = {_RECORD_NAMES[k]: (v if v.dtype == tf.float32 else tf.cast(v, tf.int32)) for k, v in raw.items()}
        f["next_sentence_labels"] = f["next_sentence_labels"][:, 0]
        longest = tf.reduce_max(tf.reduce_sum(f["input_mask"], axis=1))
        length = tf.minimum(seq_length, (longest + multiple - 1) // multiple * multiple)
        for name in INPUT_NAMES:
            f[name] = f[name][:, :length]
        return f

    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if model_batches:
        ds = ds.map(_to_model_batch)
    return ds.with_options(pipeline_options()).prefetch(PREFETCH_BATCHES)


class MaskingCounter:
    """Accumulates masking statistics batch by batch (see `masking_statistics`), so they can be taken while the
    batches are consumed for something else (e.g. written to TFRecords)."""

    _KEYS = ("rows", "real_tokens", "selected", "masked", "kept", "randomized", "specials_selected", "nsp_random",
             "slots", "padding")

    def __init__(self, masker):
        self.specials = np.array([masker.cls_id, masker.sep_id, masker.pad_id, masker.mask_id])
        self.mask_id = masker.mask_id
        self.counts = dict.fromkeys(self._KEYS, 0)

    def add(self, batch):
        ids = batch["input_word_ids"].numpy()
        mask = batch["input_mask"].numpy()
        positions = batch["masked_lm_positions"].numpy()
        targets = batch["masked_lm_ids"].numpy()
        weights = batch["masked_lm_weights"].numpy() > 0
        now = np.take_along_axis(ids, positions, axis=1)
        # Real tokens that are not [CLS]/[SEP] (a replaced target counts by its original token).
        original = ids.copy()
        original[np.nonzero(weights)[0], positions[weights]] = targets[weights]
        c = self.counts
        c["real_tokens"] += int(((mask > 0) & ~np.isin(original, self.specials)).sum())
        c["selected"] += int(weights.sum())
        c["masked"] += int((weights & (now == self.mask_id)).sum())
        c["kept"] += int((weights & (now == targets)).sum())
        c["randomized"] += int((weights & (now != self.mask_id) & (now != targets)).sum())
        c["specials_selected"] += int((weights & np.isin(targets, self.specials)).sum())
        c["nsp_random"] += int(batch["next_sentence_labels"].numpy().sum())
        c["rows"] += ids.shape[0]
        c["slots"] += ids.size
        c["padding"] += int((mask == 0).sum())

    def result(self):
        c = self.counts
        if not c["rows"]:
            raise ValueError("No batches to measure.")
        return {"rows": c["rows"], "real_tokens": c["real_tokens"], "selected": c["selected"],
                "selected_per_real_token": c["selected"] / c["real_tokens"],
                "mask_share": c["masked"] / c["selected"], "keep_share": c["kept"] / c["selected"],
                "random_share": c["randomized"] / c["selected"], "specials_selected": c["specials_selected"],
                "nsp_random_share": c["nsp_random"] / c["rows"], "padding_fraction": c["padding"] / c["slots"]}


def masking_statistics(batches, masker, max_batches=None):
    """Counts over flat feature batches: real tokens, targets, the [MASK]/kept/random split, special tokens
    chosen (must be 0), NSP "random next" share, and the padding fraction of the batches.

    Args:
        batches: an iterable of flat feature dicts (masked `input_word_ids` and the masked_lm_* features).
        masker: the `MlmMasker` that made them (for the special ids).
        max_batches: stop after this many batches.
    """
    counter = MaskingCounter(masker)
    for n, batch in enumerate(batches):
        if max_batches is not None and n >= max_batches:
            break
        counter.add(batch)
    return counter.result()


def count_batches(pairs, batch_size, seq_length, buckets=None):
    """How many batches one ordered pass (`training=False`) of `pretraining_dataset` yields, without running it:
    with buckets, each bucket ends with its own partial batch."""
    if not buckets:
        return -(-len(pairs) // batch_size)
    edges = sorted(set(int(b) for b in buckets) | {seq_length})
    per_bucket = np.bincount(np.searchsorted(edges, pairs.lengths(), side="left"), minlength=len(edges))
    return int(sum(-(-int(n) // batch_size) for n in per_bucket))


def corpus_segment_pairs(corpus, tokenizer, seq_length, input_format="google", short_seq_prob=0.1,
                         eval_fraction=0.02, seed=12345, progress=None):
    """Reads a corpus, holds out `eval_fraction` of its documents (seeded) and builds NSP segment pairs of both.

    Args:
        corpus: text files, globs, directories or a bundled corpus name (`bert_keras.data.pretraining_corpus.
            load_corpus`).
        tokenizer: a `BertTokenizer`.
        seq_length, short_seq_prob, seed: as `bert_keras.text.nsp_pairs.create_segment_pairs` (the held-out part
            uses `seed + 1`).
        input_format: "google" (a sentence per line, blank lines between documents) or as `load_corpus` lists.
        eval_fraction: share of documents held out; under 2 documents means none (logged).
        progress: optional callable(done, total) for the tokenization of the training documents.

    Returns:
        (train pairs, held-out pairs or None, stats dict).
    """
    from bert_keras.data.pretraining_corpus import load_corpus
    from bert_keras.text.nsp_pairs import PairStats, create_segment_pairs, tokenize_documents

    start = time.time()
    documents = load_corpus(corpus, input_format)
    logger.info("Read %d documents, %d sentences.", len(documents), sum(len(d) for d in documents))
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    n_eval = int(round(eval_fraction * len(documents)))
    if eval_fraction > 0 and n_eval < 2:
        logger.warning("eval_fraction=%s of %d documents is under 2 documents: no held-out evaluation.",
                       eval_fraction, len(documents))
        n_eval = 0
    eval_docs = [documents[i] for i in sorted(order[:n_eval])]
    train_docs = [documents[i] for i in sorted(order[n_eval:])]
    stats = {}
    train_stats = PairStats()
    train = create_segment_pairs(tokenize_documents(tokenizer, train_docs, progress=progress), seq_length,
                                 short_seq_prob, seed, train_stats)
    stats["train"] = train_stats.as_dict()
    eval_pairs = None
    if eval_docs:
        eval_stats = PairStats()
        eval_pairs = create_segment_pairs(tokenize_documents(tokenizer, eval_docs), seq_length, short_seq_prob,
                                          seed + 1, eval_stats)
        stats["eval"] = eval_stats.as_dict()
    stats["seconds"] = round(time.time() - start, 1)
    logger.info("Pairs: %d train (%d documents), %d eval (%d documents), built in %.1f s; %s", len(train),
                len(train_docs), len(eval_pairs) if eval_pairs else 0, len(eval_docs), stats["seconds"],
                {k: v for k, v in stats["train"].items() if v})
    return train, eval_pairs, stats


def pretraining_datasets(tokenizer, masker, batch_size, seq_length, corpus=None, input_records=None,
                         input_format="google", max_predictions_per_seq=20, short_seq_prob=0.1, eval_fraction=0.02,
                         bucket_by_length=True, seed=12345, skip_batches=0, progress=None):
    """The training and held-out pipelines of a pretraining run, from a corpus (dynamic masking) or from
    Google-format TFRecords (static masks, `input_records`: files, globs or directories).

    Returns:
        (train dataset (endless, resumable after `skip_batches`), held-out dataset or None, stats: pair and
        masking statistics, and `eval_batches` when there is a held-out set).
    """
    from bert_keras.data.pretraining_corpus import expand_corpus

    if (corpus is None) == (input_records is None):
        raise ValueError("Pass exactly one of corpus (text) and input_records (TFRecords).")
    buckets = default_buckets(seq_length) if bucket_by_length else None
    eval_ds = None
    if input_records:
        files = expand_corpus(input_records, flag="--input_records")
        logger.info("Static pretraining data: %d TFRecord files.", len(files))

        def make(training, skip=0, model_batches=True):
            return read_pretraining_records(files, batch_size, seq_length, max_predictions_per_seq, seed=seed,
                                            training=training, skip_batches=skip, model_batches=model_batches)
        stats = {"input_records": files}
        train = make(True, skip_batches)
        probe = make(False, model_batches=False)
    else:
        train_pairs, eval_pairs, stats = corpus_segment_pairs(corpus, tokenizer, seq_length, input_format,
                                                              short_seq_prob, eval_fraction, seed, progress)
        train = pretraining_dataset(train_pairs, masker, batch_size, seq_length, seed, True, buckets, skip_batches)
        probe = pretraining_dataset(train_pairs, masker, batch_size, seq_length, seed, False, buckets,
                                    model_batches=False)
        if eval_pairs is not None and len(eval_pairs):
            eval_ds = pretraining_dataset(eval_pairs, masker, batch_size, seq_length, seed + 1, False, buckets)
            stats["eval_batches"] = count_batches(eval_pairs, batch_size, seq_length, buckets)
    stats["masking"] = masking_statistics(probe, masker, max_batches=50)
    logger.info("Masking over the first batches: %s", stats["masking"])
    return train, eval_ds, stats


def create_pretraining_records(corpus, vocab, output, input_format="google", lower_case=True, max_seq_length=128,
                               max_predictions_per_seq=20, masked_lm_prob=0.15, short_seq_prob=0.1, dupe_factor=10,
                               whole_word_mask=False, random_seed=12345, progress=None):
    """Google's `create_pretraining_data.py` on this package's pieces: `dupe_factor` passes over `corpus`, each
    with its own sentence pairs and masks, written as TFRecords (`output`, or one file per pass) in Google's
    feature layout, with the masking and pair statistics in `<output base>.stats.json`. What
    `python -m trainers.create_pretraining_data` runs.

    Args:
        corpus, input_format: as `bert_keras.data.pretraining_corpus.load_corpus`.
        vocab, lower_case: the tokenizer's vocab.txt and casing.
        output: the TFRecord path.
        max_seq_length, max_predictions_per_seq, masked_lm_prob, short_seq_prob, dupe_factor, whole_word_mask,
            random_seed: Google's flags of the same names and meaning.
        progress: optional callable(done, total) for the tokenizing progress.

    Returns:
        The summary dict also written to the stats file.
    """
    from bert_keras import BertTokenizer
    from bert_keras.data.pretraining_corpus import load_corpus
    from bert_keras.text.mlm_masking import MlmMasker
    from bert_keras.text.nsp_pairs import PairStats, create_segment_pairs, tokenize_documents

    if isinstance(dupe_factor, bool) or not isinstance(dupe_factor, int) or dupe_factor < 1:
        raise ValueError(f"dupe_factor (--dupe_factor) must be an int >= 1, got {dupe_factor!r}.")
    start = time.time()
    tokenizer = BertTokenizer(vocab, lower_case=lower_case, seq_length=max_seq_length)
    masker = MlmMasker(tokenizer.vocabulary, max_predictions_per_seq, masked_lm_prob, whole_word_mask)
    documents = load_corpus(corpus, input_format)
    logger.info("Read %d documents, %d sentences.", len(documents), sum(len(d) for d in documents))
    tokenized = tokenize_documents(tokenizer, documents, progress=progress)
    base, ext = os.path.splitext(output)
    outputs, written, pair_stats = [], 0, []
    counter = MaskingCounter(masker)  # statistics taken while the batches are written, in the same pass

    def counted(batches):
        for batch in batches:
            counter.add(batch)
            yield batch

    for dupe in range(dupe_factor):
        stats = PairStats()
        pairs = create_segment_pairs(tokenized, max_seq_length, short_seq_prob, random_seed + dupe, stats)
        path = output if dupe_factor == 1 else f"{base}-{dupe:05d}-of-{dupe_factor:05d}{ext}"
        batches = pretraining_dataset(pairs, masker, 256, max_seq_length, seed=random_seed + dupe, training=False,
                                      model_batches=False)
        written += write_pretraining_records(counted(batches), path, max_seq_length, max_predictions_per_seq)
        pair_stats.append(stats.as_dict())
        outputs.append(path)
        logger.info("Pass %d / %d: %d instances -> %s (%.0f s so far)", dupe + 1, dupe_factor, len(pairs), path,
                    time.time() - start)
    masking = counter.result()
    summary = {
        "outputs": outputs, "instances": written, "seconds": round(time.time() - start, 1),
        "pairs": pair_stats[0] if dupe_factor == 1 else pair_stats,
        **{k: masking[k] for k in ("selected_per_real_token", "mask_share", "keep_share", "random_share",
                                   "specials_selected", "nsp_random_share")},
        "padding_fraction_at_max_seq_length": masking["padding_fraction"],
    }
    atomic_write_json(f"{base}.stats.json", summary)
    return summary
