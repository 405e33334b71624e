"""Features for word-level tagging: pre-split words -> packed WordPieces, first-piece word index and labels.

Each word is tokenized on its own (BERT may split it further at punctuation and into WordPieces); its label
goes on its first WordPiece and every other position gets -1, which `BertTokenClassifier`'s loss ignores.
Runs in-graph, so it maps over batched `tf.data` datasets of ragged words.
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


def word_tagging_dataset(tokenizer, sentences, label_names, seq_length, batch_size, shuffle=False, seed=None):
    """(dataset, examples) of `(features, word-piece labels)` batches for `BertTokenClassifier.fit`.

    Args:
        tokenizer: a `BertTokenizer`.
        sentences: [(words, tags)] as `bert_keras.data.conll.read_conll` returns them.
        label_names: the tag set in id order (every tag of `sentences` must be in it).
        seq_length, batch_size: packing length and rows per batch.
        shuffle, seed: reshuffle every epoch, seeded.
    """
    index = {label: i for i, label in enumerate(label_names)}
    words = tf.ragged.constant([tokens for tokens, _ in sentences], dtype=tf.string)
    tags = tf.ragged.constant([[index[t] for t in ts] for _, ts in sentences], dtype=tf.int32)
    ds = tf.data.Dataset.from_tensor_slices({"words": words, "tags": tags})
    if shuffle:
        ds = ds.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)

    def featurize(batch):
        features = pack_words(tokenizer, batch["words"], seq_length, batch["tags"])
        labels = features.pop("labels")
        features.pop("word_index")
        return features, labels

    ds = ds.batch(batch_size).map(featurize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _distributable(ds), len(sentences)


def predict_word_tags(model, tokenizer, sentences, label_names, seq_length, batch_size=32):
    """The tag of each word (read on its first WordPiece) for each sentence's words; words cut off by
    `seq_length` are tagged "O"."""
    import numpy as np

    predicted = []
    for start in range(0, len(sentences), 256):
        chunk = sentences[start:start + 256]
        features = pack_words(tokenizer, tf.ragged.constant(list(chunk), dtype=tf.string), seq_length)
        word_index = features.pop("word_index").numpy()
        best = model.predict(features, verbose=0, batch_size=batch_size).argmax(-1)
        for row, words in enumerate(chunk):
            tags = ["O"] * len(words)
            for pos in np.nonzero(word_index[row] >= 0)[0]:
                tags[word_index[row, pos]] = label_names[best[row, pos]]
            predicted.append(tags)
    return predicted


def _distributable(ds):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
