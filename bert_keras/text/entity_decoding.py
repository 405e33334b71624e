"""In-graph tagger outputs: WordPiece tokens, word labels and entity spans from raw text.

The one decoding of a tagger's predictions on raw text: `BertTokenClassifier.predict` runs it per length-sorted
batch, and the tagging export's `serving_default` is the same function in the SavedModel.

Words are BERT's basic-tokenizer words (whitespace and punctuation split): a word starts at every WordPiece
that does not begin with `##`, and takes the label predicted on its first piece, as in training
(`bert_keras.text.word_features`). Entities are decoded from the word labels with the same BIO rule as
`bert_keras.metrics.tagging.bio_spans` (an `I-X` after `O` or another type opens a new entity). Offsets are
character (code point) offsets into the original text, so `text[start:end]` is the entity's original
substring; byte offsets from the tokenizer are turned into characters with core string ops.

Dense core ops only (no ragged ops past the tokenizer), so the graph runs in TF Serving as it is.
"""

import tensorflow as tf

from bert_keras.text.segment_packer import trim_to_longest


def label_tables(labels):
    """(type names, type id per label, is-B per label) for BIO `labels` (["O", "B-PER", "I-PER", ...])."""
    types, type_ids, is_begin = [""], [], []
    for label in labels:
        if label == "O":
            type_ids.append(0)
            is_begin.append(False)
            continue
        prefix, _, kind = label.partition("-")
        if prefix not in ("B", "I") or not kind:
            raise ValueError(f"Tag {label!r} is not BIO (expected O, B-TYPE or I-TYPE); the tagging export decodes "
                             "entities from BIO tags. Retrain with BIO labels.")
        if kind not in types:
            types.append(kind)
        type_ids.append(types.index(kind))
        is_begin.append(prefix == "B")
    return types, type_ids, is_begin


def char_offsets(texts, byte_offsets):
    """Character (code point) offsets of UTF-8 byte offsets [B, N], each at a character boundary, in `texts` [B].

    Counts the characters that start before each offset (`unicode_decode_with_offsets` + `searchsorted`);
    every text is first cut at the largest offset asked for, so a 1 MB input costs no more than its head.
    """
    needed = tf.maximum(tf.reduce_max(byte_offsets, axis=1), 0)
    heads = tf.strings.substr(texts, tf.zeros_like(needed), needed, unit="BYTE")
    _, char_starts = tf.strings.unicode_decode_with_offsets(heads, "UTF-8", errors="replace")
    char_starts = char_starts.to_tensor(default_value=tf.int64.max)
    # One sentinel column keeps searchsorted valid for a batch whose texts are all empty.
    char_starts = tf.pad(char_starts, [[0, 0], [0, 1]], constant_values=tf.int64.max)
    return tf.searchsorted(char_starts, tf.cast(byte_offsets, tf.int64), side="left", out_type=tf.int32)


def _compact(values, segment, num_segments, shape, combine):
    return tf.reshape(combine(values, segment, num_segments + 1)[:num_segments], shape)


def tag_outputs(tokenizer, model, texts, seq_length, labels, trim=False, windows=None):
    """The tagger's outputs for a batch of raw strings.

    Args:
        tokenizer: the model's `BertTokenizer`.
        model: a `BertTokenClassifier` (or any model mapping the three inputs to [B, S, len(labels)] logits).
        texts: string [B].
        seq_length: the model's rows; without `windows` texts are truncated to it (words past it get no label).
        labels: the BIO tag names in id order.
        trim: run the model on the batch's longest row only (outputs are then [B, that width]).
        windows: None, or (stride, max_windows): read every piece in windows of seq_length - 2 pieces every
            `stride`, at most `max_windows` per text, each piece labelled from the window where it has the most
            context (`bert_keras.text.document_windows.max_context_labels`); the outputs then span the pieces read,
            and `windows` [B] and `capped` [B] (True where `max_windows` stopped before the end) are added.

    Returns:
        dict: `tokens` [B, S] ([CLS], the WordPieces read, [SEP]; "" past the end); `words`, `word_labels` [B, S]
        and `word_start`, `word_end` [B, S] (character offsets, -1 past `num_words`); `entity_type`, `entity_text`
        [B, S] and `entity_start`, `entity_end` [B, S] (character offsets, -1 past `num_entities`); `num_words`,
        `num_entities` [B].
    """
    types, type_ids, is_begin = label_tables(labels)
    texts = tokenizer.string_batch(texts)
    extra = {}
    if windows is None:
        features = tokenizer(texts, seq_length=seq_length, return_offsets=True)
        if trim:
            features = trim_to_longest(features)
        starts, ends = features.pop("start_offsets"), features.pop("end_offsets")
        label_ids = tf.argmax(model(features, training=False), axis=-1, output_type=tf.int32)
        word_ids, mask = features["input_word_ids"], features["input_mask"]
        width = seq_length if not trim else tf.shape(word_ids)[1]
    else:
        word_ids, mask, starts, ends, label_ids, extra = _windowed_rows(tokenizer, model, texts, seq_length, windows,
                                                                        trim)
        width = tf.shape(word_ids)[1]
    batch = tf.shape(word_ids)[0]
    shape = tf.stack([batch, width])
    pos = tf.range(width)[tf.newaxis, :]
    row = tf.broadcast_to(tf.range(batch)[:, tf.newaxis], shape)
    length = tf.reduce_sum(mask, axis=1, keepdims=True)
    vocabulary = tf.constant(tokenizer.vocabulary)
    continuation = tf.constant([t.startswith("##") for t in tokenizer.vocabulary])
    tokens = tf.where(mask > 0, tf.gather(vocabulary, word_ids), "")

    in_text = (pos >= 1) & (pos < length - 1)  # not [CLS], the final [SEP] or padding
    is_start = in_text & ~tf.gather(continuation, word_ids)
    word_of_pos = tf.cumsum(tf.cast(is_start, tf.int32), axis=1) - 1
    num_words = tf.reduce_sum(tf.cast(is_start, tf.int32), axis=1)
    cells = batch * width
    segment = tf.reshape(tf.where(in_text & (word_of_pos >= 0), row * width + word_of_pos, cells), [-1])
    word_start_byte = _compact(tf.reshape(starts, [-1]), segment, cells, shape, tf.math.unsorted_segment_min)
    word_end_byte = _compact(tf.reshape(ends, [-1]), segment, cells, shape, tf.math.unsorted_segment_max)
    word_label = _compact(tf.reshape(tf.where(is_start, label_ids, -1), [-1]), segment, cells, shape,
                          tf.math.unsorted_segment_max)
    word_valid = pos < num_words[:, tf.newaxis]
    word_start_byte = tf.where(word_valid, word_start_byte, 0)
    word_end_byte = tf.where(word_valid, word_end_byte, 0)
    word_label = tf.where(word_valid, word_label, 0)

    word_type = tf.where(word_valid, tf.gather(tf.constant(type_ids, tf.int32), word_label), 0)
    previous_type = tf.pad(word_type[:, :-1], [[0, 0], [1, 0]])
    begins = (word_type > 0) & (tf.gather(tf.constant(is_begin), word_label) | (previous_type != word_type))
    entity_of_word = tf.cumsum(tf.cast(begins, tf.int32), axis=1) - 1
    num_entities = tf.reduce_sum(tf.cast(begins, tf.int32), axis=1)
    entity_segment = tf.reshape(tf.where(word_type > 0, row * width + entity_of_word, cells), [-1])
    entity_start_byte = _compact(tf.reshape(word_start_byte, [-1]), entity_segment, cells, shape,
                                 tf.math.unsorted_segment_min)
    entity_end_byte = _compact(tf.reshape(word_end_byte, [-1]), entity_segment, cells, shape,
                               tf.math.unsorted_segment_max)
    entity_type = _compact(tf.reshape(tf.where(begins, word_type, 0), [-1]), entity_segment, cells, shape,
                           tf.math.unsorted_segment_max)
    entity_valid = pos < num_entities[:, tf.newaxis]
    entity_start_byte = tf.where(entity_valid, entity_start_byte, 0)
    entity_end_byte = tf.where(entity_valid, entity_end_byte, 0)

    char = char_offsets(texts, tf.concat([word_start_byte, word_end_byte, entity_start_byte, entity_end_byte], 1))
    word_start, word_end, entity_start, entity_end = tf.split(char, 4, axis=1)

    def substrings(start, end, valid):
        return tf.where(valid, tf.strings.substr(texts[:, tf.newaxis], start, end - start, unit="BYTE"), "")

    return {
        "tokens": tokens,
        "words": substrings(word_start_byte, word_end_byte, word_valid),
        "word_labels": tf.where(word_valid, tf.gather(tf.constant(list(labels)), word_label), ""),
        "word_start": tf.where(word_valid, word_start, -1),
        "word_end": tf.where(word_valid, word_end, -1),
        "num_words": num_words,
        "entity_type": tf.where(entity_valid, tf.gather(tf.constant(types), tf.maximum(entity_type, 0)), ""),
        "entity_text": substrings(entity_start_byte, entity_end_byte, entity_valid),
        "entity_start": tf.where(entity_valid, entity_start, -1),
        "entity_end": tf.where(entity_valid, entity_end, -1),
        "num_entities": num_entities,
        **extra,
    }


def _windowed_rows(tokenizer, model, texts, seq_length, windows, trim):
    """Rows laid out as packed features ([CLS], every piece read, [SEP], padding) over whole texts, with each
    piece's label from its max-context window: (word ids, mask, start and end byte offsets, label ids, extra)."""
    from bert_keras.text.document_windows import max_context_labels, prefix

    stride, max_windows = windows
    ids, starts, ends = tokenizer.tokenize_with_offsets(texts)
    piece_labels, counts, capped = max_context_labels(
        model, ids, seq_length, tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, stride, max_windows,
        trim=trim_to_longest if trim else None)
    read = tf.cast(piece_labels.row_lengths(), tf.int32)
    length = read[:, tf.newaxis] + 2
    width = tf.reduce_max(tf.concat([read, [0]], axis=0)) + 2
    pos = tf.range(width)[tf.newaxis, :]

    def rows(values, fill, first, last):
        dense = tf.cast(prefix(values, read).to_tensor(default_value=fill), tf.int32)
        dense = tf.pad(dense, [[0, 0], [1, width - 1 - tf.shape(dense)[1]]], constant_values=fill)
        dense = tf.where(pos == 0, first, tf.where(pos == length - 1, last, dense))
        return tf.where(pos < length, dense, fill)

    word_ids = rows(ids, tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id)
    label_ids = rows(piece_labels, -1, -1, -1)
    return (word_ids, tf.cast(pos < length, tf.int32), rows(starts, 0, 0, 0), rows(ends, 0, 0, 0), label_ids,
            {"windows": counts, "capped": capped})
