"""Writes static MLM + NSP pretraining data as TFRecords, like Google's `create_pretraining_data.py`.

    python -m trainers.create_pretraining_data --corpus='texts/*.txt' --vocab=vocab.txt \
        --output=data/pretrain.tfrecord --max_seq_length=128 --max_predictions_per_seq=20 --dupe_factor=10

Each of the `--dupe_factor` passes builds the segment pairs with its own seed and masks them with its own seed
(Google's way to show the model several maskings of the same text when masking is static). The records carry
Google's feature names, so Google's `run_pretraining.py` and `trainers.pretrain --input_records` read them.
Prints progress per pass and a summary (pairs, skips, masking and padding statistics); the summary is also
written next to the output as `<output>.stats.json`. Dynamic masking (`trainers.pretrain --corpus`) is the
default for training; this tool is for fixed, shareable datasets.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import logging  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402
from bert_keras.text.pretraining_dataset import create_pretraining_records  # noqa: E402
from trainers.callbacks import progress_logger  # noqa: E402

import bert_keras  # noqa: E402,F401

logger = logging.getLogger("bert_keras.create_pretraining_data")


FLAGS = flags.FLAGS


def define_flags():
    from trainers.run_config import define_corpus_flags

    define_corpus_flags()
    flags.DEFINE_string("vocab", None, "vocab.txt.", required=True)
    flags.DEFINE_bool("lower_case", True, "Lower-case and strip accents.")
    flags.DEFINE_string("output", None, "Output TFRecord path (one file per pass when --dupe_factor > 1).",
                        required=True)
    flags.DEFINE_integer("max_seq_length", 128, "Packed length.")
    flags.DEFINE_integer("max_predictions_per_seq", 20, "Most MLM targets per sequence.")
    flags.DEFINE_float("masked_lm_prob", 0.15, "Share of real tokens to predict.")
    flags.DEFINE_float("short_seq_prob", 0.1, "Probability of a shorter target length per document.")
    flags.DEFINE_integer("dupe_factor", 10, "Passes over the corpus, each with other pairs and masks.")
    flags.DEFINE_bool("whole_word_mask", False, "Mask whole words.")
    flags.DEFINE_integer("random_seed", 12345, "Seed.")


def main(argv):
    del argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = create_pretraining_records(
        ",".join(FLAGS.corpus), FLAGS.vocab, FLAGS.output, FLAGS.input_format, FLAGS.lower_case, FLAGS.max_seq_length,
        FLAGS.max_predictions_per_seq, FLAGS.masked_lm_prob, FLAGS.short_seq_prob, FLAGS.dupe_factor,
        FLAGS.whole_word_mask, FLAGS.random_seed, progress=progress_logger("Tokenizing", logger))
    print(json.dumps(summary, indent=2))


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
