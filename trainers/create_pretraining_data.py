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
import time  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

import bert_keras  # noqa: E402,F401

logger = logging.getLogger("bert_keras.create_pretraining_data")


def create(corpus, vocab, output, input_format="google", lower_case=True, max_seq_length=128,
           max_predictions_per_seq=20, masked_lm_prob=0.15, short_seq_prob=0.1, dupe_factor=10,
           whole_word_mask=False, random_seed=12345):
    """Builds and writes the records; returns the summary dict."""
    from bert_keras import BertTokenizer
    from bert_keras.data.pretraining_corpus import load_corpus
    from bert_keras.text.mlm_masking import MlmMasker
    from bert_keras.text.nsp_pairs import PairStats, create_segment_pairs, tokenize_documents
    from bert_keras.text.pretraining_dataset import MaskingCounter, pretraining_dataset, write_pretraining_records
    from trainers.callbacks import progress_logger

    if dupe_factor < 1:
        raise ValueError(f"--dupe_factor must be at least 1, got {dupe_factor}.")
    start = time.time()
    tokenizer = BertTokenizer(vocab, lower_case=lower_case, seq_length=max_seq_length)
    masker = MlmMasker(tokenizer.vocabulary, max_predictions_per_seq, masked_lm_prob, whole_word_mask)
    documents = load_corpus(corpus, input_format)
    logger.info("Read %d documents, %d sentences.", len(documents), sum(len(d) for d in documents))
    tokenized = tokenize_documents(tokenizer, documents, progress=progress_logger("Tokenizing", logger))
    base, ext = os.path.splitext(output)
    outputs, written, pair_stats = [], 0, []
    counter = MaskingCounter(masker)  # statistics taken while the batches are written, in the same pass

    def counted(batches):
        for batch in batches:
            counter.add(batch)
            yield batch

    for dupe in range(dupe_factor):
        stats = PairStats()
        pairs = create_segment_pairs(tokenized, max_seq_length, short_seq_prob, random_seed + dupe, stats)
        path = output if dupe_factor == 1 else f"{base}-{dupe:05d}-of-{dupe_factor:05d}{ext}"
        batches = pretraining_dataset(pairs, masker, 256, max_seq_length, seed=random_seed + dupe, training=False,
                                      model_batches=False)
        written += write_pretraining_records(counted(batches), path, max_seq_length, max_predictions_per_seq)
        pair_stats.append(stats.as_dict())
        outputs.append(path)
        logger.info("Pass %d / %d: %d instances -> %s (%.0f s so far)", dupe + 1, dupe_factor, len(pairs), path,
                    time.time() - start)
    masking = counter.result()
    summary = {
        "outputs": outputs, "instances": written, "seconds": round(time.time() - start, 1),
        "pairs": pair_stats[0] if dupe_factor == 1 else pair_stats,
        **{k: masking[k] for k in ("selected_per_real_token", "mask_share", "keep_share", "random_share",
                                   "specials_selected", "nsp_random_share")},
        "padding_fraction_at_max_seq_length": masking["padding_fraction"],
    }
    tmp = f"{base}.stats.json.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    os.replace(tmp, f"{base}.stats.json")
    return summary


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
    summary = create(",".join(FLAGS.corpus), FLAGS.vocab, FLAGS.output, FLAGS.input_format, FLAGS.lower_case,
                     FLAGS.max_seq_length, FLAGS.max_predictions_per_seq, FLAGS.masked_lm_prob, FLAGS.short_seq_prob,
                     FLAGS.dupe_factor, FLAGS.whole_word_mask, FLAGS.random_seed)
    print(json.dumps(summary, indent=2))


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
