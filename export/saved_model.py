"""Command line of `bert_keras.export.saved_model`: exports a fine-tuned model directory as a string-in SavedModel
that TF Serving loads (the signatures and layout: that module's docstring, and README "Export").

    python -m export.saved_model --model_dir=runs/demo/rotten_tomatoes --export_dir=runs/demo/export [--version N]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402
from bert_keras.explain.explain_signature import EXPLAIN_STEPS  # noqa: E402
from bert_keras.export.saved_model import EXPORT_DTYPES, custom_ops, export_saved_model  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model_dir", None, "A trainers.finetune output directory.", required=True)
    flags.DEFINE_string("export_dir", None, "Base directory; the version goes in a numbered subdirectory.",
                        required=True)
    flags.DEFINE_integer("version", None, "Version number (default: the next free one).", lower_bound=1)
    flags.DEFINE_integer("qa_max_windows", 32, "Span QA: most context windows searched per example.", lower_bound=1)
    flags.DEFINE_integer("explain_steps", None, "Classify/regress: integration steps of the `explain` signature "
                         "(integrated gradients; each explained text costs about this many predictions); 0: no "
                         f"explain signature; default {EXPLAIN_STEPS} for float32 exports of truncating models.",
                         lower_bound=0)
    flags.DEFINE_enum("export_dtype", "float32", sorted(EXPORT_DTYPES), "float32, or bfloat16 matmuls (mixed_bfloat16 "
                      "policy) for servers with native bfloat16; the training precision does not matter.")
    flags.DEFINE_bool("pad_to_seq_length", False, "Classify/regress/embed: pad every request to seq_length "
                      "instead of to the batch's longest row (same outputs, more compute; fixed shapes).")


def main(argv):
    del argv
    path = export_saved_model(FLAGS.model_dir, FLAGS.export_dir, FLAGS.version, FLAGS.qa_max_windows,
                              FLAGS.pad_to_seq_length, FLAGS.export_dtype, FLAGS.explain_steps)
    print(f"Exported {path}; custom ops: {custom_ops(path)}")


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
