"""WordPiece vocab files: reading, atomic writing, and learning a vocab from a corpus.

Learning uses tensorflow-text's `bert_vocab_from_dataset` (the same algorithm as its `wordpiece_vocab` tool);
it pre-tokenizes like BERT (punctuation and CJK characters split), so CJK characters end up as single tokens.
Text is first normalized with the same table `BertTokenizer` uses (the learner's own lower-casing is
tensorflow-text's case folding, which would learn `,` for `，` and `ss` for `ß`, tokens the tokenizer never
produces).
"""

import os
import tempfile

from bert_keras.data.utf8_file import read_utf8

BERT_RESERVED_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def read_vocab(path):
    """Reads a vocab file (one token per line, id = line number) into a list."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Vocab file {path} does not exist; pass the vocab.txt of the checkpoint.")
    tokens = [line.rstrip("\r") for line in read_utf8(path).split("\n")]
    while tokens and tokens[-1] == "":
        tokens.pop()
    if not tokens:
        raise ValueError(f"Vocab file {path} is empty.")
    return tokens


def write_vocab(tokens, path):
    """Writes tokens one per line, atomically (a temporary file renamed into place)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".vocab-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for token in tokens:
                f.write(token + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def learn_vocab(texts, vocab_size, lower_case=True, reserved_tokens=BERT_RESERVED_TOKENS, batch_size=1024,
                upper_thresh=10_000_000, lower_thresh=2, num_iterations=4, max_input_tokens=5_000_000,
                max_unique_chars=5000):
    """Learns a WordPiece vocab of about `vocab_size` tokens from raw text.

    Args:
        texts: a `tf.data.Dataset` of scalar strings, or an iterable of strings.
        vocab_size: target size (the learner may return slightly fewer tokens).
        lower_case: lower-case and strip accents first (as for an uncased model).
        reserved_tokens: tokens placed first, in order ([PAD] gets id 0).
        upper_thresh, lower_thresh, num_iterations: bounds and steps of the learner's binary search on the
            word-count threshold.
        max_input_tokens: most distinct words counted (the most frequent).
        max_unique_chars: most single characters kept (CJK text needs thousands).

    Returns:
        The vocab as a list of tokens, reserved tokens first.
    """
    import tensorflow as tf
    from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as bert_vocab

    if not isinstance(vocab_size, int) or vocab_size <= len(reserved_tokens):
        raise ValueError(f"vocab_size must be an int larger than the {len(reserved_tokens)} reserved tokens, "
                         f"got {vocab_size!r}.")
    if not isinstance(texts, tf.data.Dataset):
        texts = list(texts)
        if not texts:
            raise ValueError("Cannot learn a vocab from an empty corpus.")
        texts = tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string))
    from tensorflow_text.python.ops.fast_bert_normalizer import FastBertNormalizer

    from bert_keras.text.bert_tokenizer import normalizer_table

    normalizer = FastBertNormalizer(model_buffer=normalizer_table(lower_case))
    vocab = bert_vocab.bert_vocab_from_dataset(
        texts.batch(batch_size).map(normalizer.normalize).prefetch(2),
        vocab_size=vocab_size,
        reserved_tokens=list(reserved_tokens),
        bert_tokenizer_params={"lower_case": False},
        learn_params={"upper_thresh": upper_thresh, "lower_thresh": lower_thresh,
                      "num_iterations": num_iterations, "max_input_tokens": max_input_tokens,
                      "max_unique_chars": max_unique_chars},
    )
    if len(vocab) <= len(reserved_tokens):
        raise ValueError("The corpus produced no tokens; check that it is not empty or all whitespace.")
    return vocab
