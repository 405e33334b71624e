"""Answers texts with an exported SavedModel loaded the way TF Serving loads it (TF1 session loader).

    python -m export.predict --saved_model=runs/demo/export/1 --text="An instant classic." --text="Dull."
    python -m export.predict --saved_model=qa_export/1 --question="Who?" --context="..."

Prints one JSON object per input row with the `serving_default` outputs (strings decoded). Run it in a fresh
process to check that an export stands on its own: only tensorflow and tensorflow_text are imported.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402

from absl import app, flags  # noqa: E402


def predict(saved_model_dir, inputs):
    """{output: list per row} from `serving_default` for `inputs` ({input name: [texts]})."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops, as the model server links them)

    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], saved_model_dir)
        signature = meta.signature_def["serving_default"]
        missing = sorted(set(signature.inputs) - set(inputs))
        if missing:
            raise ValueError(f"{saved_model_dir} serving_default needs inputs {sorted(signature.inputs)}; "
                             f"missing {missing}.")
        outputs = sess.run({k: v.name for k, v in signature.outputs.items()},
                           {signature.inputs[k].name: v for k, v in inputs.items() if k in signature.inputs})

    def plain(value):
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return value.item() if hasattr(value, "item") else value

    rows = len(next(iter(inputs.values())))
    return [{k: (plain(v[i]) if v.ndim == 1 else [plain(x) for x in v[i]]) for k, v in sorted(outputs.items())}
            for i in range(rows)]


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
    app.run(main)


if __name__ == "__main__":
    cli()
