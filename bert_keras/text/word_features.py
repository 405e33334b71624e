"""Features for word-level tagging: pre-split words -> packed WordPieces, first-piece word index and labels.

Each word is tokenized on its own (BERT may split it further at punctuation and into WordPieces); its label
goes on its first WordPiece and every other position gets -1, which `BertTokenClassifier`'s loss ignores.
Runs in-graph, so it maps over batched `tf.data` datasets of ragged words
(`BertTextPreprocessor.word_dataset`, what `BertTokenClassifier.fit` trains on).
"""

import tensorflow as tf

from bert_keras.text.segment_packer import pack_segments


def pack_words(tokenizer, words, seq_length, word_labels=None):
    """Packs a batch of pre-split sentences.

    Args:
        tokenizer: a `BertTokenizer`.
        words: string RaggedTensor [batch, (words)].
        seq_length: packed length; words past it are truncated (they get no prediction).
        word_labels: optional int RaggedTensor [batch, (words)] of label ids.

    Returns:
        dict of int32 [batch, seq_length]: the three encoder inputs, `word_index` (the word whose first piece
        sits at each position, -1 elsewhere) and, with `word_labels`, `labels` (-1 off first pieces).
    """
    ids, word_index = word_pieces(tokenizer, words)
    extras = [word_index + 1]
    if word_labels is not None:
        word_starts = tf.cast(word_labels.row_splits[:-1], tf.int32)
        rows = tf.cast(word_index.value_rowids(), tf.int32)
        flat = tf.gather(tf.cast(word_labels.flat_values, tf.int32),
                         tf.maximum(tf.gather(word_starts, rows) + word_index.flat_values, 0))
        extras.append(word_index.with_flat_values(tf.where(word_index.flat_values >= 0, flat + 1, 0)))
    features, packed = pack_segments(ids, seq_length, tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id,
                                     extra_a=extras)
    features["word_index"] = packed[0] - 1
    if word_labels is not None:
        features["labels"] = packed[1] - 1
    return features


def word_pieces(tokenizer, words):
    """Each sentence's WordPieces, its words tokenized one by one.

    Args:
        tokenizer: a `BertTokenizer`.
        words: string RaggedTensor [batch, (words)] (or a dense [batch, words] string tensor).

    Returns:
        (piece ids RaggedTensor int32 [batch, (pieces)], word index RaggedTensor int32 [batch, (pieces)]: the
        word whose first piece sits there, -1 on its other pieces). A word of no pieces (only spaces or control
        characters) has no first piece.
    """
    if not isinstance(words, tf.RaggedTensor):
        words = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(words, tf.string))
    pieces = tokenizer.tokenize(words.flat_values)  # [total_words, (pieces)]
    pieces_per_word = tf.cast(pieces.row_lengths(), tf.int32)
    words_per_row = tf.cast(words.row_lengths(), tf.int32)
    total_words = tf.shape(pieces_per_word)[0]
    global_word = tf.repeat(tf.range(total_words), pieces_per_word)  # word of each token, batch-global
    word_start_token = tf.cumsum(pieces_per_word, exclusive=True)
    is_first = tf.equal(tf.range(tf.shape(global_word)[0]), tf.gather(word_start_token, global_word))
    row_first_word = tf.cumsum(words_per_row, exclusive=True)
    tokens_per_row = tf.math.segment_sum(pieces_per_word, tf.repeat(tf.range(tf.shape(words_per_row)[0]),
                                                                     words_per_row))
    tokens_per_row = tf.concat([tokens_per_row, tf.zeros(tf.shape(words_per_row)[0] - tf.shape(tokens_per_row)[0],
                                                         tf.int32)], 0)
    row_of_token = tf.repeat(tf.range(tf.shape(words_per_row)[0]), tokens_per_row)
    local_word = global_word - tf.gather(row_first_word, row_of_token)

    def ragged(values):
        return tf.RaggedTensor.from_row_lengths(values, tokens_per_row, validate=False)

    return ragged(tf.cast(pieces.flat_values, tf.int32)), ragged(tf.where(is_first, local_word, -1))


def bio_tag_set(sentences):
    """The BIO tag set of [(words, tags)] in id order: "O", then B-/I- of each entity type, types sorted.

    Example:
    >>> bio_tag_set([(["Paris", "is"], ["B-LOC", "O"]), (["Ann"], ["B-PER"])])
    ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER']
    """
    types = set()
    for i, (_, tags) in enumerate(sentences):
        for j, tag in enumerate(tags):
            if tag == "O":
                continue
            if not isinstance(tag, str) or len(tag) < 3 or tag[:2] not in ("B-", "I-"):
                raise ValueError(f"Sentence {i}, tag {j}: {tag!r} is not BIO (expected O, B-TYPE or I-TYPE); for "
                                 "another tag set, pass its names in id order (labels=[...]) to the tagger "
                                 "(trainers.finetune --task=tag reads BIO tags).")
            types.add(tag[2:])
    return ["O"] + [f"{prefix}-{kind}" for kind in sorted(types) for prefix in ("B", "I")]


def word_windows(pieces_per_word, budget, stride):
    """Spans of whole words that cover a sentence in windows of at most `budget` pieces (for training a tagger
    on sentences longer than its rows).

    Each window starts at the first word at least `stride` pieces after the previous window's start (always at
    least one word later) and takes words while their pieces fit `budget`; a single word longer than `budget` is
    a window of its own (the packer cuts it). A sentence that fits is one window.

    Args:
        pieces_per_word: WordPieces of each word (ints).
        budget: pieces per window (seq_length - 2).
        stride: pieces between window starts.

    Returns:
        [(first word, end word)], half-open spans in order.

    >>> word_windows([2, 2, 2, 2, 2], budget=6, stride=4)
    [(0, 3), (2, 5)]
    """
    pieces_per_word = [int(p) for p in pieces_per_word]
    n = len(pieces_per_word)
    starts = [0]
    for p in pieces_per_word:
        starts.append(starts[-1] + p)
    if starts[-1] <= budget:
        return [(0, n)]
    spans, lo = [], 0
    while True:
        hi = lo + 1
        while hi < n and starts[hi + 1] - starts[lo] <= budget:
            hi += 1
        spans.append((lo, hi))
        if hi >= n:
            return spans
        nxt = lo + 1
        while nxt < n and starts[nxt] - starts[lo] < stride:
            nxt += 1
        lo = min(nxt, hi)  # never skip a word: the next window starts at or before the first word left out
