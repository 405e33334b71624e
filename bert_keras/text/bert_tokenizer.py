"""`BertTokenizer`: in-graph WordPiece tokenization and packing, built on `tensorflow_text.FastBertTokenizer`.

tensorflow-text's `FastBertTokenizer` does BERT's BasicTokenizer + WordPiece (punctuation split, CJK
characters split) in one fused op with kernels in TF Serving and TFLite, about 7x faster than
`tensorflow_text.BertTokenizer`. Packing into [CLS]/[SEP] features is `segment_packer.pack_segments` (dense
ops only, so TFLite can run it).

Its built-in normalizer lower-cases with ICU NFKC_Casefold, which differs from original BERT and Hugging Face
(`lower()` + NFD + drop accents) on about 11,000 code points: fullwidth punctuation (`，` -> `,`, everywhere
in Chinese text), `²`, `µ`, `ß` -> `ss`. So this tokenizer hands the same op a normalizer table built from
Hugging Face's `BertNormalizer` (`tools/build_normalizer.py`, shipped in `text/data/`), which makes the ids
identical to the reference on every code point while keeping the fused op, its speed and its offsets.
"""

import json
import logging
import os

import importlib.resources

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bert_keras.data.utf8_file import read_json
from bert_keras.text.segment_packer import TRUNCATION_STRATEGIES, pack_segments
from bert_keras.text.vocab import BERT_RESERVED_TOKENS, read_vocab

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = BERT_RESERVED_TOKENS  # [PAD] [UNK] [CLS] [SEP] [MASK]
# Eager calls of one setting (seq_length, offsets, pairs) are traced into a graph function from this call on.
TRACE_AT_CALL = 3


@keras.saving.register_keras_serializable(package="bert_keras")
class BertTokenizer(keras.layers.Layer):
    """Tokenizes raw strings to WordPiece ids and packs them into BERT's three input tensors.

    Runs eagerly, inside `tf.data` and `tf.function`, and inside exported SavedModels.

    Args:
        vocabulary: a list of tokens (line i = id i) or the path of a `vocab.txt`.
        lower_case: lower-case and strip accents (uncased models); False for cased models.
        seq_length: default packed length.
        truncation: `longest_first` (Hugging Face's default) or `round_robin` for sentence pairs.
        max_bytes_per_word: longer words become [UNK] (original BERT: 100 characters).
        parallel_shards: cut each batch into this many contiguous shards, tokenized and packed by independent
            ops that TensorFlow runs on its inter-op threads at once inside a `tf.function` or graph (the
            tokenizer op is single-threaded). None: the machine's cores, at most 4. 1: off (exports use 1: a
            server parallelizes across requests, and TFLite runs ops one at a time). Outputs do not depend on it.

    Example:
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "!"])
    >>> features = tokenizer(["Hello world!"], seq_length=8)
    >>> features["input_word_ids"].numpy().tolist()
    [[2, 5, 6, 7, 3, 0, 0, 0]]
    """

    def __init__(self, vocabulary, lower_case=True, seq_length=128, truncation="longest_first",
                 max_bytes_per_word=100, parallel_shards=None, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = read_vocab(vocabulary)
        vocabulary = list(vocabulary)
        missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]") if t not in set(vocabulary)]
        if missing:
            raise ValueError(
                f"The vocabulary lacks the special token(s) {missing}; a BERT vocab must contain [PAD], [UNK], "
                "[CLS] and [SEP] (and [MASK] for pretraining). Use the vocab.txt that came with the checkpoint, "
                "or learn one with bert_keras.text.learn_vocab, which reserves them.")
        if truncation not in TRUNCATION_STRATEGIES:
            raise ValueError(f"Unknown truncation {truncation!r}; use one of {TRUNCATION_STRATEGIES}.")
        if parallel_shards is not None and (isinstance(parallel_shards, bool) or not isinstance(parallel_shards, int)
                                            or parallel_shards < 1):
            raise ValueError(f"parallel_shards must be a positive int or None (one per core, at most 4), got "
                             f"{parallel_shards!r}.")
        self.parallel_shards = parallel_shards
        self.vocabulary = vocabulary
        self.lower_case = bool(lower_case)
        self.seq_length = seq_length
        self.truncation = truncation
        self.max_bytes_per_word = max_bytes_per_word
        index = {}
        for i, token in enumerate(vocabulary):
            if token in index:
                raise ValueError(f"The vocabulary's token {token!r} appears twice (ids {index[token]} and {i}); "
                                 "WordPiece vocabularies must have unique tokens.")
            index[token] = i
        self.special_ids = {t: index[t] for t in SPECIAL_TOKENS if t in index}
        self.cls_id, self.sep_id = index["[CLS]"], index["[SEP]"]
        self.pad_id, self.unk_id = index["[PAD]"], index["[UNK]"]
        self.mask_id = index.get("[MASK]")
        self._tokenizer = tf_text.FastBertTokenizer(
            vocab=vocabulary, token_out_type=tf.int32, unknown_token="[UNK]",
            max_bytes_per_word=max_bytes_per_word,
            fast_bert_normalizer_model_buffer=normalizer_table(self.lower_case))
        self.built = True  # no Keras weights; the WordPiece and normalizer models are constants

    @property
    def vocab_size(self):
        return len(self.vocabulary)

    @staticmethod
    def string_batch(texts):
        """`texts` as a 1-D `tf.string` tensor (one text: a batch of one); refuses other ranks, also at graph run
        time, where a SavedModel signature does not enforce its input shape."""
        if isinstance(texts, str):
            texts = [texts]
        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank != 1:
            raise ValueError(f"Expected a 1-D batch of strings, got shape {texts.shape}; wrap a single text in a "
                             "list, or flatten the batch.")
        # Checked again when the graph runs: a restored SavedModel signature does not enforce its input shape, and
        # a [1, n] batch would otherwise be read as one text.
        return tf.ensure_shape(texts, [None])

    def tokenize(self, texts):
        """WordPiece ids as a RaggedTensor int32 [batch, (tokens)], no special tokens."""
        return self._tokenizer.tokenize(self.string_batch(texts))

    def tokenize_with_offsets(self, texts):
        """(ids, start, end) RaggedTensors; offsets are UTF-8 byte positions in the original strings."""
        return self._tokenizer.tokenize_with_offsets(self.string_batch(texts))

    def detokenize(self, ids):
        """Token strings for ids (a dense or ragged int tensor)."""
        return tf.gather(tf.constant(self.vocabulary), ids)

    def call(self, texts, pair_texts=None, seq_length=None, return_offsets=False):
        """Tokenizes and packs `[CLS] text [SEP]` or `[CLS] text [SEP] pair_text [SEP]`.

        Args:
            texts: a batch of strings (list or 1-D string tensor).
            pair_texts: optional second segments, one per text.
            seq_length: packed length (default: the constructor's).
            return_offsets: also return `start_offsets` / `end_offsets` [batch, seq_length], the UTF-8 byte
                span of each token in its own text (0, 0 at [CLS]/[SEP]/[PAD], as Hugging Face does).

        Returns:
            dict of int32 [batch, seq_length]: `input_word_ids`, `input_mask`, `input_type_ids`.
        """
        seq_length = self.seq_length if seq_length is None else seq_length
        texts = self.string_batch(texts)
        if pair_texts is not None:
            pair_texts = self.string_batch(pair_texts)
            tf.debugging.assert_equal(
                tf.shape(texts)[0], tf.shape(pair_texts)[0],
                message="texts and pair_texts must have the same number of elements")
        num_shards = self.parallel_shards or min(4, os.cpu_count() or 1)
        if num_shards == 1:
            return self._pack(texts, pair_texts, seq_length, return_offsets)
        # Contiguous shards with independent ops, which TensorFlow's inter-op threads run at the same time
        # (in a tf.function / graph; eagerly they run one after the other). The op itself is single-threaded.
        n = tf.shape(texts)[0]
        bounds = [n * i // num_shards for i in range(num_shards + 1)]
        shards = [self._pack(texts[lo:hi], None if pair_texts is None else pair_texts[lo:hi], seq_length,
                             return_offsets) for lo, hi in zip(bounds[:-1], bounds[1:])]
        return {name: tf.concat([shard[name] for shard in shards], axis=0) for name in shards[0]}

    def _pack(self, texts, pair_texts, seq_length, return_offsets):
        def tokenize(batch):  # (ids, *offsets): offsets cost about a third of the op's time, only when asked for
            if return_offsets:
                return self._tokenizer.tokenize_with_offsets(batch)
            return (self._tokenizer.tokenize(batch),)

        ids_a, *extra_a = tokenize(texts)
        ids_b, *extra_b = tokenize(pair_texts) if pair_texts is not None else (None,)
        features, extras = pack_segments(
            ids_a, seq_length, self.cls_id, self.sep_id, self.pad_id, segment_b=ids_b,
            truncation=self.truncation, extra_a=extra_a, extra_b=extra_b)
        if return_offsets:
            features["start_offsets"], features["end_offsets"] = extras
        return features

    def __call__(self, texts, pair_texts=None, seq_length=None, return_offsets=False):
        # Strings have no Keras tensor form: skip Layer.__call__'s input conversion and masking logic.
        if not tf.executing_eagerly():
            return self.call(texts, pair_texts=pair_texts, seq_length=seq_length, return_offsets=return_offsets)
        # Eagerly, the packing's few dozen small (ragged) ops each pay Python dispatch: one traced function per
        # setting runs them as one graph (a review with offsets: 130 ms eagerly, 3 ms traced). Tracing costs about
        # 5 s (40 eager calls), so a setting is traced at its third call: one-off callers stay eager.
        seq_length = self.seq_length if seq_length is None else int(seq_length)
        key = (seq_length, bool(return_offsets), pair_texts is not None)
        if key not in self._traced_calls:
            self._eager_calls[key] = self._eager_calls.get(key, 0) + 1
            if self._eager_calls[key] < TRACE_AT_CALL:
                return self.call(texts, pair_texts=pair_texts, seq_length=seq_length, return_offsets=return_offsets)
            def packed(*batches):
                return self.call(batches[0], pair_texts=batches[1] if len(batches) > 1 else None,
                                 seq_length=seq_length, return_offsets=return_offsets)
            spec = tf.TensorSpec([None], tf.string)
            self._traced_calls[key] = tf.function(packed, input_signature=[spec] * (2 if key[2] else 1))
        batches = [self.string_batch(texts)] + ([] if pair_texts is None else [self.string_batch(pair_texts)])
        return self._traced_calls[key](*batches)

    @property
    def _traced_calls(self):
        """Setting (seq_length, offsets, pairs) -> its traced function."""
        return self._untracked_dict("_traced_calls_cache")

    @property
    def _eager_calls(self):
        """Setting -> eager calls so far (a setting is traced at call `TRACE_AT_CALL`)."""
        return self._untracked_dict("_eager_calls_cache")

    def _untracked_dict(self, name):
        value = self.__dict__.get(name)
        if value is None:  # kept out of Keras's attribute tracking (functions and counters are not layer state)
            value = {}
            object.__setattr__(self, name, value)
        return value

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary=self.vocabulary, lower_case=self.lower_case, seq_length=self.seq_length,
                      truncation=self.truncation, max_bytes_per_word=self.max_bytes_per_word,
                      parallel_shards=self.parallel_shards)
        return config

    def save_assets(self, directory):
        """Writes `vocab.txt` and `tokenizer_config.json` (Hugging Face's keys) into `directory`."""
        from bert_keras.text.vocab import write_vocab

        os.makedirs(directory, exist_ok=True)
        write_vocab(self.vocabulary, os.path.join(directory, "vocab.txt"))
        with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump({"do_lower_case": self.lower_case, "tokenizer_class": "BertTokenizer",
                       "model_max_length": self.seq_length}, f, indent=2)

    @classmethod
    def from_pretrained(cls, path, lower_case=None, **kwargs):
        """Builds the tokenizer of a checkpoint directory (Hugging Face or Google), hub id, or vocab file.

        Case handling comes from, in order: `lower_case` if given; `do_lower_case` in the directory's
        `tokenizer_config.json` (Hugging Face); otherwise the vocab itself: a vocab with upper-case tokens is
        cased (Google's directories carry no tokenizer config; their names say uncased/cased).

        Raises:
            FileNotFoundError: no `vocab.txt` at `path`.
            ValueError: a tokenizer configuration this tokenizer cannot reproduce.
        """
        from bert_keras.checkpoints.hub import resolve_checkpoint

        path = resolve_checkpoint(path)
        vocab_path = path if os.path.isfile(path) else os.path.join(path, "vocab.txt")
        if not os.path.exists(vocab_path):
            raise FileNotFoundError(
                f"No vocab file at {vocab_path}. Pass a checkpoint directory that contains vocab.txt, or the "
                "path of the vocab file itself.")
        vocabulary = read_vocab(vocab_path)
        config_path = os.path.join(os.path.dirname(vocab_path), "tokenizer_config.json")
        hf = {}
        if os.path.exists(config_path):
            hf = read_json(config_path, "re-download the checkpoint's tokenizer_config.json or delete it")
        if lower_case is None and "do_lower_case" in hf:
            lower_case = bool(hf["do_lower_case"])
        if lower_case is None:
            lower_case = not _vocab_is_cased(vocabulary)
            logger.info("No tokenizer config at %s: vocab looks %s.", path, "uncased" if lower_case else "cased")
        strip_accents = hf.get("strip_accents")
        if strip_accents is not None and bool(strip_accents) != lower_case:
            raise ValueError(
                f"{config_path}: strip_accents={strip_accents} with do_lower_case={lower_case} cannot be "
                "reproduced by FastBertTokenizer, which strips accents exactly when it lower-cases.")
        if hf.get("tokenize_chinese_chars", True) is False:
            raise ValueError(f"{config_path}: tokenize_chinese_chars=false is not supported (CJK characters are "
                             "always split, as in original BERT).")
        if "seq_length" not in kwargs and isinstance(hf.get("model_max_length"), int) \
                and hf["model_max_length"] <= 4096:
            kwargs["seq_length"] = min(128, hf["model_max_length"])
        return cls(vocabulary, lower_case=lower_case, **kwargs)


def tokenizer_for_run(vocab=None, checkpoint=None, lower_case=True, seq_length=128):
    """The tokenizer of a training run: a checkpoint's own (its vocab.txt and case), or `vocab` for a model
    trained from scratch. Both given: they must be the same vocabulary (the checkpoint's embedding rows are its
    vocab's ids).

    Raises:
        ValueError: neither given, or a `vocab` that differs from the checkpoint's.
    """
    if checkpoint:
        tokenizer = BertTokenizer.from_pretrained(checkpoint, seq_length=seq_length)
        if vocab and read_vocab(vocab) != tokenizer.vocabulary:
            raise ValueError(f"--vocab {vocab} differs from the vocab.txt of --init_checkpoint {checkpoint}, whose "
                             "embedding rows follow its own vocab; drop --vocab (or train from scratch with it).")
        return tokenizer
    if not vocab:
        raise ValueError("Pass --vocab (a vocab.txt, e.g. from trainers.build_vocab) to train from scratch, or "
                         "--init_checkpoint (a directory with its vocab.txt).")
    return BertTokenizer(vocab, lower_case=lower_case, seq_length=seq_length)


def normalizer_table(lower_case):
    """The FastBertNormalizer model (bytes) reproducing Hugging Face's BertNormalizer, uncased or cased."""
    name = "bert_normalizer_uncased.fb" if lower_case else "bert_normalizer_cased.fb"
    return importlib.resources.files("bert_keras.text").joinpath("data", name).read_bytes()


def _vocab_is_cased(vocabulary):
    words = [t for t in vocabulary if not (t.startswith("[") and t.endswith("]"))]
    upper = sum(1 for t in words if any(c.isupper() for c in t))
    return upper > 0.01 * max(1, len(words))
