"""Command line of `bert_keras.export.verify`: the parity report of an export (Keras vs the SavedModel under both
loaders vs each TFLite variant, on a few hundred real texts; what it measures: that module's docstring).

    python -m export.verify --model_dir=runs/demo/rotten_tomatoes --export_dir=runs/demo/export \
        [--version=N] [--tflite_dir=runs/demo] [--convert] [--examples=300] [--output=report.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402
from bert_keras.export.verify import format_table, verify_export_dir  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model_dir", None, "The trainers.finetune output the export came from.", required=True)
    flags.DEFINE_string("export_dir", None, "export.saved_model's base directory.", required=True)
    flags.DEFINE_integer("version", None, "Version to check (default: the highest).", lower_bound=1)
    flags.DEFINE_string("tflite_dir", None, "Directory of the TFLite set (model*.tflite); default: export_dir.")
    flags.DEFINE_bool("convert", False, "Convert the standard TFLite set into --tflite_dir first.")
    flags.DEFINE_string("texts_file", None, "Texts to compare on (default: the model's dataset's test split).")
    flags.DEFINE_integer("examples", 300, "How many texts.", lower_bound=1)
    flags.DEFINE_string("output", None, "JSON report path (default: export_dir/parity_v<version>.json).")


def main(argv):
    del argv
    report, output = verify_export_dir(FLAGS.model_dir, FLAGS.export_dir, FLAGS.version, FLAGS.tflite_dir,
                                       FLAGS.convert, FLAGS.texts_file, FLAGS.examples, FLAGS.output)
    print(format_table(report))
    print(f"\nWrote {output}")


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
