"""Command line of `bert_keras.export.predict`: answers texts with an exported SavedModel loaded the way TF Serving
loads it (TF1 session loader), one JSON object per input row.

    python -m export.predict --saved_model=runs/demo/export/1 --text="An instant classic." --text="Dull."
    python -m export.predict --saved_model=qa_export/1 --question="Who?" --context="..."

Run in a fresh process, it checks that an export stands on its own: TF's session loader reads the graph alone (no
Python or Keras objects), with tensorflow_text registering the tokenizer ops as the model server links them.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402
from bert_keras.export.predict import predict  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("saved_model", None, "An export.saved_model version directory.", required=True)
    flags.DEFINE_multi_string("text", [], "Classifier/regressor/tagger input (repeat for a batch).")
    flags.DEFINE_multi_string("question", [], "Span QA: questions (with as many --context).")
    flags.DEFINE_multi_string("context", [], "Span QA: contexts.")


def main(argv):
    del argv
    inputs = {"question": FLAGS.question, "context": FLAGS.context} if FLAGS.question else {"text": FLAGS.text}
    for row in predict(FLAGS.saved_model, inputs):
        print(json.dumps(row, ensure_ascii=False))


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
