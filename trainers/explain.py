"""Explains a fine-tuned model's predictions: token attributions, attention views, a report to read.

    python -m trainers.explain --model_dir=runs/demo/rotten_tomatoes --text="An instant classic." --method=ig
    python -m trainers.explain --saved_model=runs/demo/export/1 --texts_file=reviews.txt
    python -m trainers.explain --model_dir=qa_model --question="Who?" --context="..."

Writes `--output` (default `<model_dir or saved_model>/explanations`): `explanations.json` (one record per
explanation: tokens, character offsets, attributions, words, label, target score, baseline score, completeness
error), `report.html` (self-contained) and the PNGs. Flag parsing only: the work is `bert_keras.explain`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    from bert_keras.explain.attributions import BASELINES
    from bert_keras.explain.explain_texts import METHODS

    flags.DEFINE_string("model_dir", None, "A trainers.finetune output directory (its model.keras) or a .keras file.")
    flags.DEFINE_string("saved_model", None, "An export.saved_model version directory (its `explain` signature: "
                        "integrated gradients at the export's --explain_steps).")
    flags.DEFINE_multi_string("text", [], "A text to explain (repeat for more).")
    flags.DEFINE_string("texts_file", None, "A UTF-8 file with one text per line (empty lines skipped, spaces at "
                        "either end dropped), or a bundled corpus name (bert_keras.data.unlabeled_texts).")
    flags.DEFINE_multi_string("question", [], "Span QA: questions (with as many --context).")
    flags.DEFINE_multi_string("context", [], "Span QA: contexts.")
    flags.DEFINE_enum("method", "ig", list(METHODS), "ig: integrated gradients; grad_input: gradient x input; "
                      "attention: every layer's attention; rollout: attention rollout.")
    flags.DEFINE_integer("steps", 64, "Integrated gradients' integration steps.", lower_bound=1)
    flags.DEFINE_enum("baseline", "pad", list(BASELINES), "Integrated gradients' baseline input.")
    flags.DEFINE_string("target", None, "Classifier: a class name or id, or `logit` (default: the predicted "
                        "class's probability).")
    flags.DEFINE_string("output", None, "Output directory (default: <model_dir or saved_model>/explanations).")


def _given(*names):
    return [f"--{name}" for name in names if FLAGS[name].present]


def main(argv):
    del argv
    from bert_keras.data.unlabeled_texts import unlabeled_texts
    from bert_keras.explain import explain_texts, explain_with_saved_model, load_model_to_explain, write_explanations

    if bool(FLAGS.model_dir) == bool(FLAGS.saved_model):
        raise app.UsageError("Pass exactly one of --model_dir and --saved_model.")
    texts = list(FLAGS.text) + (unlabeled_texts(FLAGS.texts_file) if FLAGS.texts_file else [])
    qa = bool(FLAGS.question or FLAGS.context)
    if qa and (len(FLAGS.question) != len(FLAGS.context) or texts):
        raise app.UsageError("Span QA takes as many --question as --context, and no --text / --texts_file.")
    if not qa and not texts:
        raise app.UsageError("Nothing to explain: pass --text (repeatable) or --texts_file.")
    ignored = (_given("steps", "baseline", "target", "method") if FLAGS.saved_model else
               _given("steps", "baseline", "target") if FLAGS.method in ("attention", "rollout") else
               _given("steps", "baseline") if FLAGS.method == "grad_input" else [])
    if ignored:
        raise app.UsageError(f"{', '.join(ignored)} do not apply to "
                             f"{'--saved_model (its explain signature fixes them)' if FLAGS.saved_model else '--method=' + FLAGS.method}.")
    source = FLAGS.model_dir or FLAGS.saved_model
    output = FLAGS.output or os.path.join(source if os.path.isdir(source) else os.path.dirname(source),
                                          "explanations")
    if FLAGS.saved_model:
        if qa:
            raise app.UsageError("--saved_model explains classify / regress exports; explain QA with --model_dir.")
        explanations = explain_with_saved_model(FLAGS.saved_model, texts)
    else:
        model = load_model_to_explain(FLAGS.model_dir)
        x = (FLAGS.question, FLAGS.context) if qa else texts
        if qa and type(model).__name__ != "BertSpanQA":
            raise app.UsageError(f"--question / --context are for span QA models; {FLAGS.model_dir} holds a "
                                 f"{type(model).__name__}: pass --text.")
        explanations = explain_texts(model, x, FLAGS.method, steps=FLAGS.steps, baseline=FLAGS.baseline,
                                     target=FLAGS.target)
    paths = write_explanations(explanations, output)
    for e in explanations:
        print(f"{e.summary()}\n    {e.text[:100]}")
    print(f"\nWrote {paths['json']}, {len(paths['png'])} PNGs and the report {paths['html']}")


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
