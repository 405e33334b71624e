"""`BertTextPreprocessor`: raw texts (or sentence pairs) -> batches of BERT features padded to their longest row.

The preprocessor that a text task model owns (keras-hub's `BertTextClassifierPreprocessor` shape: a tokenizer
and a sequence length, serialized inside the task's `.keras` file). It adds what keras-hub's lacks:

- **dynamic padding**: each batch is padded only to its longest row, rounded up to `pad_to_multiple_of` so that
  the compiled train / predict functions see few shapes (BERT's outputs at real positions do not depend on the
  padding columns, which are masked);
- **length grouping** for training (Hugging Face's `group_by_length`): the shuffled examples are cut into
  windows of `50 * batch_size`, each window sorted by length and batched, and the batches shuffled again, so
  batches hold similar lengths while every epoch still sees a new, seeded order;
- batches sorted by length for `predict` / `evaluate` (the returned row order maps them back);
- **long documents** (`long_document`): "truncate" (the first seq_length - 2 pieces), "head_tail" (the first
  `head_tokens` and the last pieces, Sun et al. 2019) or "windows" (every piece, in windows of seq_length - 2
  pieces every `window_stride`, at most `max_windows` per text; each window a row carrying its document's
  targets; `bert_keras.text.document_windows`).

Texts are tokenized once (tensorflow-text's `FastBertTokenizer`, through `BertTokenizer.tokenize`), and the
ragged ids go through `tf.data`; only packing runs per batch.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from bert_keras.data.pipeline import PREFETCH_BATCHES, pipeline_options
from bert_keras.text.bert_tokenizer import BertTokenizer
from bert_keras.text.document_windows import LONG_DOCUMENT_MODES, document_windows, head_and_tail
from bert_keras.text.segment_packer import pack_segments

# Hugging Face's `group_by_length` sorts within "megabatches" of 50 batches.
GROUP_WINDOW_BATCHES = 50


@keras.saving.register_keras_serializable(package="bert_keras")
class BertTextPreprocessor(keras.layers.Layer):
    """Tokenizes and packs texts or text pairs, padding each batch to its longest row.

    Args:
        tokenizer: a `BertTokenizer`.
        seq_length: the longest packed row (texts are truncated to it); default: the tokenizer's.
        pad_to_multiple_of: batch widths are rounded up to a multiple of this (1: exact longest row);
            never past `seq_length`.
        long_document: "truncate", "head_tail" or "windows" (single texts only; see the module docstring).
        head_tokens: "head_tail": pieces kept from the start (default a quarter of seq_length - 2; the rest
            from the end).
        window_stride: "windows": pieces between window starts (default half of seq_length - 2).
        max_windows: "windows": windows per text at most, from its start (default 16).

    Example:
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world"])
    >>> preprocessor = BertTextPreprocessor(tokenizer, seq_length=16, pad_to_multiple_of=4)
    >>> preprocessor(["hello world", "hello"])["input_word_ids"].numpy().tolist()
    [[2, 4, 5, 3], [2, 4, 3, 0]]
    """

    def __init__(self, tokenizer, seq_length=None, pad_to_multiple_of=8, long_document="truncate", head_tokens=None,
                 window_stride=None, max_windows=16, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if not isinstance(tokenizer, BertTokenizer):
            raise ValueError(f"tokenizer must be a bert_keras BertTokenizer, got {type(tokenizer).__name__}.")
        seq_length = tokenizer.seq_length if seq_length is None else seq_length
        if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 4:
            raise ValueError(f"seq_length must be an int >= 4 (room for [CLS] a [SEP] b [SEP]), got {seq_length!r}.")
        if isinstance(pad_to_multiple_of, bool) or not isinstance(pad_to_multiple_of, int) or pad_to_multiple_of < 1:
            raise ValueError(f"pad_to_multiple_of must be a positive int, got {pad_to_multiple_of!r}.")
        if long_document not in LONG_DOCUMENT_MODES:
            raise ValueError(f"long_document must be one of {LONG_DOCUMENT_MODES}, got {long_document!r}.")
        budget = seq_length - 2
        for name, value, low in (("head_tokens", head_tokens, 0), ("window_stride", window_stride, 1),
                                 ("max_windows", max_windows, 1)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low
                                      or (name != "max_windows" and value > budget)):
                raise ValueError(f"{name} must be an int in [{low}, {budget if name != 'max_windows' else 'inf'}] "
                                 f"(seq_length {seq_length} holds {budget} pieces), got {value!r}.")
        for name, value, mode in (("head_tokens", head_tokens, "head_tail"), ("window_stride", window_stride, "windows")):
            if value is not None and long_document != mode:  # it would do nothing, silently
                raise ValueError(f"{name}={value!r} applies to long_document={mode!r}, not {long_document!r}: drop "
                                 f"{name} or set long_document={mode!r}.")
        self.tokenizer = tokenizer
        self.seq_length = seq_length
        self.pad_to_multiple_of = pad_to_multiple_of
        self.long_document = long_document
        self.head_tokens = head_tokens
        self.window_stride = window_stride
        self.max_windows = max_windows
        self.built = True

    @property
    def budget(self):
        """Pieces of one text a row holds: seq_length - 2 ([CLS] and [SEP])."""
        return self.seq_length - 2

    @property
    def head_count(self):
        """"head_tail": pieces kept from the start (`head_tokens`, default a quarter of the budget)."""
        return self.head_tokens if self.head_tokens is not None else self.budget // 4

    @property
    def window_settings(self):
        """(window size, stride, max windows) with the defaults filled in."""
        return self.budget, self.window_stride or max(1, self.budget // 2), self.max_windows

    def _check_single(self, pair):
        if pair is not None and self.long_document != "truncate":
            raise ValueError(f"long_document={self.long_document!r} takes single texts; sentence pairs are "
                             "truncated (long_document='truncate').")

    def call(self, texts, pair_texts=None):
        """Features of one batch, int32 [batch, width] with width = the longest row rounded up (<= seq_length).
        With long_document="windows" use `windows` (a text is several rows)."""
        if self.long_document == "windows":
            raise ValueError("With long_document='windows' a text is several rows: call preprocessor.windows(texts) "
                             "for (features, document of each row, windows per text, capped).")
        a = self.tokenizer.tokenize(texts)
        b = None if pair_texts is None else self.tokenizer.tokenize(pair_texts)
        return self.pack(a, b)

    def __call__(self, texts, pair_texts=None):
        # Strings have no Keras tensor form (as BertTokenizer): skip Layer.__call__'s input conversion.
        return self.call(texts, pair_texts)

    def pack(self, ids_a, ids_b=None, pad_to_multiple_of=None):
        """Packs ragged WordPiece ids (from `tokenizer.tokenize`) into features padded to the batch's width
        (its longest row, rounded up to `pad_to_multiple_of`, default the preprocessor's)."""
        tok = self.tokenizer
        self._check_single(ids_b)
        if self.long_document == "head_tail":
            ids_a = head_and_tail(ids_a, self.budget, self.head_count)
        features, _ = pack_segments(ids_a, self.seq_length, tok.cls_id, tok.sep_id, tok.pad_id, segment_b=ids_b,
                                    truncation=tok.truncation)
        return self.trim(features, pad_to_multiple_of)

    def trim(self, features, pad_to_multiple_of=None):
        """Cuts [batch, seq_length] features (and any other [batch, seq_length] entry) to the batch's longest
        row, rounded up to `pad_to_multiple_of` (default the preprocessor's), never past `seq_length`."""
        longest = tf.reduce_max(tf.concat([tf.reduce_sum(features["input_mask"], axis=1), [1]], axis=0))
        multiple = pad_to_multiple_of or self.pad_to_multiple_of
        width = tf.minimum((longest + multiple - 1) // multiple * multiple, self.seq_length)
        return {name: value[:, :width] if value.shape.rank == 2 else value for name, value in features.items()}

    def windows(self, texts):
        """long_document="windows": (features of every window [windows, width], document index of each window,
        windows per text, capped per text: True where `max_windows` cut the text short)."""
        ids, document, counts, capped, _ = document_windows(self.tokenizer.tokenize(texts), *self.window_settings)
        return self.pack(ids), document, counts, capped

    def tokenize_columns(self, texts, pair_texts=None):
        """(ids_a, ids_b or None, packed lengths) for whole columns of texts, tokenized once, in chunks."""
        ids_a = self.tokenize_many(texts)
        ids_b = None
        lengths = ids_a.row_lengths().numpy() + 2
        if pair_texts is not None:
            ids_b = self.tokenize_many(pair_texts)
            lengths = lengths + ids_b.row_lengths().numpy() + 1
        return ids_a, ids_b, np.minimum(lengths, self.seq_length)

    def tokenize_many(self, texts):
        """WordPiece ids of every text (a ragged [texts, pieces] tensor, no [CLS] / [SEP], untruncated), tokenized in
        chunks of 4,096 texts so that a large column does not become one huge graph input."""
        chunks = [self.tokenizer.tokenize(texts[start:start + 4096]) for start in range(0, len(texts), 4096)]
        return tf.concat(chunks, axis=0) if chunks else tf.ragged.constant([], tf.int32, ragged_rank=1)

    def dataset(self, texts, pair_texts=None, targets=(), batch_size=32, shuffle=False, seed=None,
                sort_by_length=False, group_by_length=True, pad_to_multiple_of=None, window_documents=False):
        """A `tf.data.Dataset` of `(features, *targets)` batches, each padded to its own longest row.

        Args:
            texts: a sequence of strings (a list or a 1-D numpy array of str / bytes).
            pair_texts: optional second segments, one per text.
            targets: arrays aligned with `texts` (labels, sample weights), batched alongside.
            batch_size: rows per batch.
            shuffle: reshuffle every epoch (seeded by `seed`, else by TensorFlow's global seed); with
                `group_by_length`, the shuffled rows are cut into windows of 50 batches, each window sorted by
                length and batched, and the batches shuffled again (Hugging Face's `group_by_length`).
            seed: seed of the shuffles.
            sort_by_length: without shuffling, batch the rows in order of length (the least padding; for
                predict and evaluate); the returned order maps batches back to the input.
            group_by_length: see `shuffle`.
            pad_to_multiple_of: overrides the preprocessor's for these batches.
            window_documents: with long_document="windows", batches of `batch_size` texts instead: the features
                hold every window of the batch's texts and `window_document` (the batch row of each window's text,
                which `BertClassifier` aggregates the windows' logits by), the targets one per text.

        Returns:
            (dataset, number of batches, row order: indices into the input in the order batched, or None when
            shuffled). With long_document="windows" the rows are windows, each carrying its text's targets, and
            the order gives the input (text) index of each batched window (with `window_documents`: texts).
        """
        self._check_single(pair_texts)
        ids_a, ids_b, lengths = self.tokenize_columns(texts, pair_texts)
        document = None
        if self.long_document == "windows" and window_documents:
            def to_windows(batch):
                ids, window_document, _, _, _ = document_windows(batch["a"], *self.window_settings)
                features = self.pack(ids, None, pad_to_multiple_of)
                features["window_document"] = window_document
                return features

            return batched_dataset({"a": ids_a}, ids_a.row_lengths().numpy(), to_windows, targets, batch_size,
                                   shuffle, seed, sort_by_length, group_by_length)
        if self.long_document == "windows":
            ids_a, document, counts, _, _ = document_windows(ids_a, *self.window_settings)
            document, counts = document.numpy(), counts.numpy()
            lengths = ids_a.row_lengths().numpy() + 2
            targets = tuple(np.repeat(np.asarray(t), counts, axis=0) for t in targets)
        elif self.long_document == "head_tail":
            lengths = np.minimum(lengths, self.seq_length)
        columns = {"a": ids_a}
        if ids_b is not None:
            columns["b"] = ids_b

        def to_features(batch):
            return self.pack(batch["a"], batch.get("b"), pad_to_multiple_of)

        dataset, batches, order = batched_dataset(columns, lengths, to_features, targets, batch_size, shuffle, seed,
                                                  sort_by_length, group_by_length)
        if document is not None and order is not None:
            order = document[order]
        return dataset, batches, order

    def word_dataset(self, words, tags=None, batch_size=32, shuffle=False, seed=None, sort_by_length=False,
                     group_by_length=True, pad_to_multiple_of=None, word_index=False):
        """Batches of pre-split sentences for word tagging, as `dataset` batches texts.

        Each word is tokenized on its own; its tag id goes on its first WordPiece and every other position gets
        -1 (`bert_keras.text.word_features.pack_words`), which `BertTokenClassifier`'s loss ignores.

        Args:
            words: a list of sentences, each a list of words.
            tags: optional tag ids, one list per sentence, as long as its words.
            word_index: also return, per batch, the int32 [batch, width] word index of each first piece (-1
                elsewhere), to read predictions back onto words.
            Others: as `dataset`.

        Returns:
            (dataset of `features` or `(features, labels)` batches, and with `word_index` `(features,
            word_index)`; number of batches; row order).
        """
        from bert_keras.text.word_features import pack_words

        words = tf.ragged.constant([list(sentence) for sentence in words], dtype=tf.string, ragged_rank=1)
        pieces = self.tokenize_many(words.flat_values)
        per_word = tf.RaggedTensor.from_row_lengths(pieces.row_lengths(), words.row_lengths())
        lengths = np.minimum(tf.reduce_sum(per_word, axis=1).numpy() + 2, self.seq_length)
        columns = {"words": words}
        if tags is not None:
            columns["tags"] = tf.ragged.constant([list(t) for t in tags], dtype=tf.int32, ragged_rank=1)

        def to_features(batch):
            features = self.trim(pack_words(self.tokenizer, batch["words"], self.seq_length, batch.get("tags")),
                                 pad_to_multiple_of)
            index = features.pop("word_index")
            labels = features.pop("labels", None)
            extra = (labels,) if labels is not None else ()
            return (features, *extra, index) if word_index else ((features, *extra) if extra else features)

        return batched_dataset(columns, lengths, to_features, (), batch_size, shuffle, seed, sort_by_length,
                               group_by_length)

    def features_dataset(self, features, targets=(), batch_size=32, shuffle=False, seed=None, sort_by_length=False,
                         group_by_length=True, pad_to_multiple_of=None):
        """Batches of already packed [n, seq_length] features (e.g. QA windows), each cut to its longest row."""
        lengths = np.asarray(features["input_mask"]).sum(axis=1)

        def to_features(batch):
            return self.trim(batch, pad_to_multiple_of)

        return batched_dataset(dict(features), lengths, to_features, targets, batch_size, shuffle, seed,
                               sort_by_length, group_by_length)

    def get_config(self):
        config = super().get_config()
        config.update(tokenizer=keras.saving.serialize_keras_object(self.tokenizer), seq_length=self.seq_length,
                      pad_to_multiple_of=self.pad_to_multiple_of, long_document=self.long_document,
                      head_tokens=self.head_tokens, window_stride=self.window_stride, max_windows=self.max_windows)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)


def batched_dataset(columns, lengths, to_features, targets=(), batch_size=32, shuffle=False, seed=None,
                    sort_by_length=False, group_by_length=True):
    """The batching shared by every text task: rows -> shuffled / length-grouped / length-sorted batches.

    Args:
        columns: dict of per-row values (numpy arrays, tensors or ragged tensors, first dimension = rows).
        lengths: packed length of each row (what sorting and grouping use).
        to_features: batch of `columns` -> features (or a tuple starting with them).
        targets: arrays aligned with the rows, appended to each batch after `to_features`' output.
        batch_size, shuffle, seed, sort_by_length, group_by_length: as `BertTextPreprocessor.dataset`.

    Returns:
        (dataset, number of batches, row order or None when shuffled).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    lengths = np.asarray(lengths)
    n = len(lengths)
    order = None
    columns = dict(columns)
    targets = tuple(np.asarray(t) for t in targets)
    if not shuffle:
        order = np.argsort(lengths, kind="stable") if sort_by_length else np.arange(n)
        if sort_by_length:
            columns = {k: (v[order] if isinstance(v, np.ndarray) else tf.gather(v, order)) for k, v in columns.items()}
            lengths = lengths[order]
            targets = tuple(t[order] for t in targets)
    columns["length"] = lengths.astype("int32")
    for i, target in enumerate(targets):
        columns[f"target_{i}"] = target
    ds = tf.data.Dataset.from_tensor_slices(columns)
    group = shuffle and group_by_length
    if shuffle:
        ds = ds.shuffle(max(1, n), seed=seed, reshuffle_each_iteration=True)
    if group:
        ds = ds.batch(batch_size * GROUP_WINDOW_BATCHES).map(_sorted_by_length).unbatch()
    ds = ds.batch(batch_size)
    if group:
        ds = ds.shuffle(GROUP_WINDOW_BATCHES, seed=None if seed is None else seed + 1,
                        reshuffle_each_iteration=True)

    def batch_features(batch):
        outputs = tuple(batch.pop(f"target_{i}") for i in range(len(targets)))
        batch.pop("length")
        features = to_features(batch)
        if not outputs:
            return features
        return (*features, *outputs) if isinstance(features, tuple) else (features, *outputs)

    batches = math.ceil(n / batch_size)
    ds = ds.map(batch_features, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.apply(tf.data.experimental.assert_cardinality(batches))  # lost by unbatch(); Keras reads it
    return ds.with_options(pipeline_options()).prefetch(PREFETCH_BATCHES), batches, order


def _sorted_by_length(window):
    order = tf.argsort(window["length"], stable=True)
    return {name: tf.gather(value, order) for name, value in window.items()}


def text_column(values, name="texts"):
    """A 1-D numpy array of str/bytes from a list, tuple, numpy array or string tensor; refuses anything else
    with the position and type of the first bad value."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a batch of strings; wrap a single text in a list: [{values!r}].")
    if isinstance(values, dict):
        raise ValueError(f"{name} must be a list of strings, got a dict (keys {sorted(values)[:5]}): a model with a "
                         "preprocessor takes texts; for id dicts set model.preprocessor = None.")
    if isinstance(values, tf.Tensor):
        values = values.numpy()
    if isinstance(values, (set, frozenset)) or not hasattr(values, "__len__"):
        raise ValueError(f"{name} must be a list, tuple or array of strings (ordered, with a length), got "
                         f"{type(values).__name__}: wrap it in list(...).")
    array = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if array.ndim != 1:
        hint = (" For sentence pairs pass a tuple of two lists, (texts_a, texts_b), not a list of pairs."
                if array.ndim == 2 and array.shape[1] == 2 else "")
        raise ValueError(f"{name} must be 1-D (one string per example), got shape {array.shape}.{hint}")
    if array.dtype.kind not in "USO":
        raise ValueError(f"{name} must hold strings, got dtype {array.dtype}; with preprocessor=None the model "
                         "takes id dicts instead.")
    if array.dtype.kind in "OU":
        for i, value in enumerate(array):
            if not isinstance(value, (str, bytes)):
                raise ValueError(f"{name}[{i}] is {type(value).__name__} {value!r}, not a string.")
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as e:
                    raise ValueError(f"{name}[{i}] cannot be encoded as UTF-8 ({e.reason} at character {e.start}: "
                                     f"{value[e.start:e.end]!r}, a lone surrogate?); fix the text, e.g. "
                                     "text.encode('utf-8', 'replace').decode('utf-8').") from None
    if len(array) == 0:
        raise ValueError(f"{name} is empty.")
    return array
