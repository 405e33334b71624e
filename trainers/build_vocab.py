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

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402
from bert_keras.text.vocab import learn_vocab_file  # noqa: E402

import bert_keras  # noqa: E402,F401

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
    summary = learn_vocab_file(",".join(FLAGS.corpus), FLAGS.vocab_size, FLAGS.output, FLAGS.input_format, FLAGS.lower_case,
                    FLAGS.num_unused)
    print(json.dumps(summary, indent=2))


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
