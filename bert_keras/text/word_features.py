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

    extras = [ragged(tf.where(is_first, local_word + 1, 0))]
    if word_labels is not None:
        labels = tf.cast(tf.gather(word_labels.flat_values, global_word), tf.int32)
        extras.append(ragged(tf.where(is_first, labels + 1, 0)))
    features, packed = pack_segments(ragged(pieces.flat_values), seq_length, tokenizer.cls_id, tokenizer.sep_id,
                                     tokenizer.pad_id, extra_a=extras)
    features["word_index"] = packed[0] - 1
    if word_labels is not None:
        features["labels"] = packed[1] - 1
    return features


def bio_tag_set(sentences):
    """The BIO tag set of [(words, tags)] in id order: "O", then B-/I- of each entity type, types sorted.

    Example:
    >>> bio_tag_set([(["Paris", "is"], ["B-LOC", "O"]), (["Ann"], ["B-PER"])])
    ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER']
    """
    types = sorted({tag[2:] for _, tags in sentences for tag in tags if tag != "O"})
    return ["O"] + [f"{prefix}-{kind}" for kind in types for prefix in ("B", "I")]
