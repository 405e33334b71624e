"""Learns a WordPiece vocab from raw text (tensorflow-text's `bert_vocab_from_dataset`, via `learn_vocab`).

    python -m trainers.build_vocab --corpus='texts/*.txt' --vocab_size=30000 --output=vocab.txt [--nolower_case]
    python -m trainers.build_vocab --corpus=peoples_daily --vocab_size=8000 --output=runs/zh/vocab.txt

BERT's reserved tokens come first ([PAD] [UNK] [CLS] [SEP] [MASK], then `--num_unused` [unusedN] slots for
later additions); punctuation and every CJK character are pre-split, so Chinese characters become single
tokens. Logs progress while counting and prints a summary: size, CJK characters, and how the corpus
tokenizes with the new vocab ([UNK] rate, WordPieces per word).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

import bert_keras  # noqa: E402,F401

logger = logging.getLogger("bert_keras.build_vocab")


def _is_cjk(token):
    return len(token) == 1 and (0x4E00 <= ord(token) <= 0x9FFF or 0x3400 <= ord(token) <= 0x4DBF
                                or 0xF900 <= ord(token) <= 0xFAFF or 0x20000 <= ord(token) <= 0x2FA1F)


def build(corpus, vocab_size, output, input_format="google", lower_case=True, num_unused=0,
          max_unique_chars=None):
    """Learns and writes the vocab; returns the summary dict."""
    import numpy as np
    import tensorflow as tf

    from bert_keras import BertTokenizer
    from bert_keras.data.pretraining_corpus import load_corpus
    from bert_keras.text.vocab import BERT_RESERVED_TOKENS, learn_vocab, write_vocab

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


FLAGS = flags.FLAGS


def define_flags():
    from trainers.run_config import define_corpus_flags

    define_corpus_flags()
    flags.DEFINE_integer("vocab_size", 30522, "Target vocab size (the learner may return a few fewer).")
    flags.DEFINE_string("output", None, "Where to write vocab.txt.", required=True)
    flags.DEFINE_bool("lower_case", True, "Learn an uncased vocab (lower-case, strip accents).")
    flags.DEFINE_integer("num_unused", 0, "[unusedN] placeholder tokens after the reserved ones.")


def main(argv):
    del argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = build(",".join(FLAGS.corpus), FLAGS.vocab_size, FLAGS.output, FLAGS.input_format, FLAGS.lower_case,
                    FLAGS.num_unused)
    print(json.dumps(summary, indent=2))


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
