"""WordPiece vocab files: reading, atomic writing, and learning a vocab from a corpus.

Learning uses tensorflow-text's `bert_vocab_from_dataset` (the same algorithm as its `wordpiece_vocab` tool);
it pre-tokenizes like BERT (punctuation and CJK characters split), so CJK characters end up as single tokens.
Text is first normalized with the same table `BertTokenizer` uses (the learner's own lower-casing is
tensorflow-text's case folding, which would learn `,` for `，` and `ss` for `ß`, tokens the tokenizer never
produces).
"""

import logging
import os
import time

from bert_keras.data.utf8_file import atomic_output, read_utf8

logger = logging.getLogger("bert_keras.build_vocab")

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
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for token in tokens:
            f.write(token + "\n")


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


def _is_cjk(token):
    return len(token) == 1 and (0x4E00 <= ord(token) <= 0x9FFF or 0x3400 <= ord(token) <= 0x4DBF
                                or 0xF900 <= ord(token) <= 0xFAFF or 0x20000 <= ord(token) <= 0x2FA1F)


def learn_vocab_file(corpus, vocab_size, output, input_format="google", lower_case=True, num_unused=0,
                     max_unique_chars=None):
    """Learns a vocab from a corpus (`learn_vocab`), writes it to `output` and measures it: what
    `python -m trainers.build_vocab` runs.

    Args:
        corpus: text files, globs or directories (comma-separated), or a bundled real corpus
            (`bert_keras.data.pretraining_corpus.load_corpus`).
        vocab_size: target size (the learner may return a few fewer).
        output: the vocab.txt to write (atomically).
        input_format: "google" (a sentence per line, blank line between documents) or "paragraphs".
        lower_case: an uncased vocab.
        num_unused: `[unusedN]` placeholders after the reserved tokens.
        max_unique_chars: characters the learner keeps (default: every CJK character of the corpus + 1,000, at
            least 5,000).

    Returns:
        A summary dict: sizes, reserved / CJK / continuation token counts, the corpus's documents, sentences and
        characters, and the [UNK] rate and WordPieces per word of the new vocab on up to 20,000 of its sentences.
    """
    import numpy as np
    import tensorflow as tf

    from bert_keras import BertTokenizer
    from bert_keras.data.pretraining_corpus import load_corpus
    
    start = time.time()
    documents = load_corpus(corpus, input_format)
    sentences = [s for d in documents for s in d]
    chars = sum(len(s) for s in sentences)
    logger.info("Read %d documents, %d sentences, %d characters (%.1f s).", len(documents), len(sentences), chars,
                time.time() - start)
    reserved = list(BERT_RESERVED_TOKENS) + [f"[unused{i}]" for i in range(num_unused)]
    batches = max(1, -(-len(sentences) // 1024))
    seen = {"n": 0, "next": 0.1}

    def tick(x):
        seen["n"] += 1
        if seen["n"] / batches >= seen["next"] or seen["n"] == batches:
            logger.info("Counting words: batch %d / %d per pass (%.0f s).", min(seen["n"], batches), batches,
                        time.time() - start)
            seen["next"] = seen["n"] / batches + 0.1
        return x

    ds = tf.data.Dataset.from_tensor_slices(tf.constant(sentences, tf.string))
    counted = ds.batch(1024).map(lambda b: tf.ensure_shape(tf.py_function(tick, [b], tf.string), [None])).unbatch()
    cjk_in_corpus = len({c for s in sentences for c in s if _is_cjk(c)})
    vocab = learn_vocab(counted, vocab_size, lower_case=lower_case, reserved_tokens=reserved,
                        max_unique_chars=max_unique_chars or max(5000, cjk_in_corpus + 1000))
    write_vocab(vocab, output)

    tokenizer = BertTokenizer(output, lower_case=lower_case)
    sample = sentences[:: max(1, len(sentences) // 20000)]
    ids = tokenizer.tokenize(sample)
    pieces = ids.flat_values.numpy()
    words = sum(1 for p in pieces if not vocab[p].startswith("##"))
    summary = {
        "output": output, "vocab_size": len(vocab), "requested_vocab_size": vocab_size,
        "reserved_tokens": len(reserved), "cjk_single_characters": sum(_is_cjk(t) for t in vocab),
        "continuation_pieces": sum(t.startswith("##") for t in vocab), "documents": len(documents),
        "sentences": len(sentences), "characters": chars,
        "unk_rate": float(np.mean(pieces == vocab.index("[UNK]"))) if len(pieces) else 0.0,
        "wordpieces_per_word": len(pieces) / max(1, words), "measured_on_sentences": len(sample),
        "seconds": round(time.time() - start, 1),
    }
    return summary
