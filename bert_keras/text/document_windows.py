"""Documents longer than the model: head + tail selection and sliding windows over ragged WordPiece ids.

Graph functions of core TensorFlow ops (index arithmetic on the ragged rows' flat values and splits, as
`segment_packer` does), so the same code runs in `fit` / `predict` input pipelines and inside exported
SavedModels. Sun et al. 2019 ("How to Fine-Tune BERT for Text Classification?") found head + tail the best
truncation for long reviews and news; windows read the whole document and aggregate the windows' logits.
"""

import tensorflow as tf

LONG_DOCUMENT_MODES = ("truncate", "head_tail", "windows")
WINDOW_AGGREGATIONS = ("mean", "max")


def _lengths(ids):
    splits = tf.cast(ids.row_splits, tf.int32)
    return splits, splits[1:] - splits[:-1]


def _positions(counts):
    """(row of each element, its index within the row) for rows of `counts` elements."""
    row = tf.repeat(tf.range(tf.shape(counts)[0]), counts)
    within = tf.range(tf.reduce_sum(counts)) - tf.repeat(tf.cumsum(counts, exclusive=True), counts)
    return row, within


def head_and_tail(ids, budget, head):
    """Rows longer than `budget` keep their first `head` and last `budget - head` tokens; shorter rows stay.

    Args:
        ids: RaggedTensor [batch, (tokens)] (ids, or offsets aligned with them).
        budget: tokens kept per row (seq_length - 2 for one segment).
        head: tokens from the start (0 <= head <= budget).

    >>> ids = tf.ragged.constant([[1, 2, 3, 4, 5, 6], [7, 8]])
    >>> head_and_tail(ids, 4, 1).to_list()
    [[1, 4, 5, 6], [7, 8]]
    """
    if not 0 <= head <= budget:
        raise ValueError(f"head_tokens must be in [0, {budget}] (the tokens a row holds), got {head}.")
    splits, lengths = _lengths(ids)
    kept = tf.minimum(lengths, budget)
    row, j = _positions(kept)
    length, k = tf.gather(lengths, row), tf.gather(kept, row)
    source = tf.where(j < head, j, length - (k - j))
    return tf.RaggedTensor.from_row_lengths(tf.gather(ids.flat_values, tf.gather(splits[:-1], row) + source), kept)


def window_counts(lengths, budget, stride, max_windows):
    """(windows per document, capped at `max_windows`; True where the cap cut the document short)."""
    needed = 1 + (tf.maximum(lengths - budget, 0) + stride - 1) // stride
    return tf.minimum(needed, max_windows), needed > max_windows


def document_windows(ids, budget, stride, max_windows, extras=()):
    """Sliding windows of `budget` tokens every `stride` tokens over each row (the last one may be shorter; a
    row of <= budget tokens is one window; at most `max_windows` per row, from the start).

    Args:
        ids: RaggedTensor [batch, (tokens)].
        budget, stride, max_windows: window size, step between window starts, cap per document.
        extras: RaggedTensors aligned with `ids` (offsets), windowed the same way.

    Returns:
        (window ids RaggedTensor [windows, (<= budget)], document index of each window [windows], windows per
        document [batch], capped [batch] bool, windowed extras list).

    >>> w, doc, n, capped, _ = document_windows(tf.ragged.constant([[1, 2, 3, 4, 5], [6]]), 3, 2, 8)
    >>> w.to_list(), doc.numpy().tolist(), n.numpy().tolist()
    ([[1, 2, 3], [3, 4, 5], [6]], [0, 0, 1], [2, 1])
    """
    if stride < 1 or stride > budget:
        raise ValueError(f"window_stride must be in [1, {budget}] (the window's tokens), got {stride}.")
    if max_windows < 1:
        raise ValueError(f"max_windows must be >= 1, got {max_windows}.")
    splits, lengths = _lengths(ids)
    windows, capped = window_counts(lengths, budget, stride, max_windows)
    doc, k = _positions(windows)
    start = k * stride
    size = tf.maximum(tf.minimum(budget, tf.gather(lengths, doc) - start), 0)
    w, j = _positions(size)
    index = tf.gather(tf.gather(splits[:-1], doc) + start, w) + j

    def take(values):
        return tf.RaggedTensor.from_row_lengths(tf.gather(values.flat_values, index), size)

    return take(ids), doc, windows, capped, [take(e) for e in extras]


def aggregate_windows(logits, document, num_documents, how="mean"):
    """Per-document logits from per-window logits [windows, ...]: the mean or the element-wise max."""
    if how not in WINDOW_AGGREGATIONS:
        raise ValueError(f"Unknown window aggregation {how!r}; use one of {WINDOW_AGGREGATIONS}.")
    combine = tf.math.unsorted_segment_mean if how == "mean" else tf.math.unsorted_segment_max
    return combine(logits, document, num_documents)


def document_logits(model, tokenizer, texts, preprocessor, trim=None):
    """A classifier's logits per raw text under its preprocessor's `long_document` mode, as a graph function
    (what the string-in export's `serving_default` runs; `predict` batches the same windows through `tf.data`).

    Args:
        model: a `BertClassifier` (its `window_aggregation` combines a text's windows).
        tokenizer: the `BertTokenizer` to run (the export's single-shard copy, or the preprocessor's own).
        texts: string [batch].
        preprocessor: the model's `BertTextPreprocessor` (mode, seq_length, head / window settings).
        trim: features -> features, e.g. `segment_packer.trim_to_longest` (default: none).

    Returns:
        (logits [batch, num_classes], extra outputs: `windows` [batch] int32 and `capped` [batch] bool in
        "windows" mode, else {}).
    """
    from bert_keras.text.segment_packer import pack_segments

    trim = trim or (lambda features: features)
    ids = tokenizer.tokenize(texts)
    mode = preprocessor.long_document
    extra = {}
    if mode == "head_tail":
        ids = head_and_tail(ids, preprocessor.budget, preprocessor.head_count)
    elif mode == "windows":
        ids, document, counts, capped, _ = document_windows(ids, *preprocessor.window_settings)
        extra = {"windows": counts, "capped": capped}
    features = trim(pack_segments(ids, preprocessor.seq_length, tokenizer.cls_id, tokenizer.sep_id,
                                  tokenizer.pad_id, truncation=tokenizer.truncation)[0])
    logits = model(features, training=False)
    if mode == "windows":
        logits = aggregate_windows(logits, document, tf.shape(counts)[0], model.window_aggregation)
    return logits, extra


def prefix(values, lengths):
    """The first `lengths[i]` elements of each row of a RaggedTensor (lengths <= the rows' lengths)."""
    splits, _ = _lengths(values)
    lengths = tf.cast(lengths, tf.int32)
    row, j = _positions(lengths)
    return tf.RaggedTensor.from_row_lengths(tf.gather(values.flat_values, tf.gather(splits[:-1], row) + j), lengths)


def max_context_labels(model, ids, seq_length, cls_id, sep_id, pad_id, stride, max_windows, trim=None):
    """A tagger's label for every piece of long rows, read in windows, each piece labelled by the window where it
    has the most context: Google BERT's `run_squad.py` rule (`_check_is_max_context`: the score of a piece in a
    window is min(pieces left of it, pieces right of it) + 0.01 x the window's size; the earlier window wins ties).

    Args:
        model: maps packed features [windows, width] to logits [windows, width, labels].
        ids: RaggedTensor [batch, (pieces)] of one text each (no special tokens).
        seq_length: the packed window length (windows of seq_length - 2 pieces).
        cls_id, sep_id, pad_id: special token ids.
        stride, max_windows: pieces between window starts; windows per row at most (from its start).
        trim: features -> features (e.g. `segment_packer.trim_to_longest`); default none.

    Returns:
        (labels RaggedTensor int32 [batch, (pieces read)]: argmax ids, rows cut where `max_windows` stops,
        windows per row [batch], capped [batch] bool).
    """
    from bert_keras.text.segment_packer import pack_segments

    budget = seq_length - 2
    _, lengths = _lengths(ids)
    window_ids, document, counts, capped, _ = document_windows(ids, budget, stride, max_windows)
    features = pack_segments(window_ids, seq_length, cls_id, sep_id, pad_id)[0]
    if trim is not None:
        features = trim(features)
    label = tf.argmax(model(features, training=False), axis=-1, output_type=tf.int32)
    _, k = _positions(counts)
    start = k * stride
    size = tf.cast(window_ids.row_lengths(), tf.int32)
    window, j = _positions(size)
    cell_label = tf.gather_nd(label, tf.stack([window, j + 1], axis=1))
    read = tf.minimum(lengths, (counts - 1) * stride + budget)
    read_starts = tf.cumsum(read, exclusive=True)
    piece = tf.gather(tf.gather(read_starts, document) + start, window) + j  # index among the pieces read
    pieces = tf.reduce_sum(read)
    window_size = tf.gather(size, window)
    score = tf.cast(tf.minimum(j, window_size - 1 - j), tf.float32) + 0.01 * tf.cast(window_size, tf.float32)
    best = tf.math.unsorted_segment_max(score, piece, pieces)
    winner = tf.math.unsorted_segment_min(tf.where(score >= tf.gather(best, piece), window, tf.int32.max), piece,
                                          pieces)
    piece_label = tf.math.unsorted_segment_max(tf.where(window == tf.gather(winner, piece), cell_label, -1), piece,
                                               pieces)
    return tf.RaggedTensor.from_row_lengths(piece_label, read), counts, capped
