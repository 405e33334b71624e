"""Explains a fine-tuned model's predictions: token attributions, attention views, a report to read.

    python -m trainers.explain --model_dir=runs/demo/rotten_tomatoes --text="An instant classic." --method=ig
    python -m trainers.explain --saved_model=runs/demo/export/1 --texts_file=reviews.txt
    python -m trainers.explain --model_dir=qa_model --question="Who?" --context="..."

Writes `--output` (default `<model_dir>/explanations`): `explanations.json` (one record per explanation:
tokens, character offsets, attributions, words, label, target score, baseline score, completeness error),
`report.html` (self-contained) and the PNGs. Flag parsing only: the work is `bert_keras.explain`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    from bert_keras.explain.attributions import BASELINES
    from bert_keras.explain.explain_texts import METHODS

    flags.DEFINE_string("model_dir", None, "A trainers.finetune output directory (its model.keras) or a .keras file.")
    flags.DEFINE_string("saved_model", None, "An export.saved_model version directory (its `explain` signature: "
                        "integrated gradients at the export's --explain_steps).")
    flags.DEFINE_multi_string("text", [], "A text to explain (repeat for more).")
    flags.DEFINE_string("texts_file", None, "A UTF-8 file with one text per line (empty lines skipped).")
    flags.DEFINE_multi_string("question", [], "Span QA: questions (with as many --context).")
    flags.DEFINE_multi_string("context", [], "Span QA: contexts.")
    flags.DEFINE_enum("method", "ig", list(METHODS), "ig: integrated gradients; grad_input: gradient x input; "
                      "attention: every layer's attention; rollout: attention rollout.")
    flags.DEFINE_integer("steps", 64, "Integrated gradients' integration steps.", lower_bound=1)
    flags.DEFINE_enum("baseline", "pad", list(BASELINES), "Integrated gradients' baseline input.")
    flags.DEFINE_string("target", None, "Classifier: a class name or id, or `logit` (default: the predicted "
                        "class's probability).")
    flags.DEFINE_string("output", None, "Output directory (default: <model_dir or saved_model>/explanations).")


def read_texts(texts, texts_file):
    """--text values, then --texts_file's non-empty lines."""
    from bert_keras.data.utf8_file import read_utf8

    texts = list(texts)
    if texts_file:
        texts += [line for line in read_utf8(texts_file).splitlines() if line.strip()]
    return texts


def main(argv):
    del argv
    import keras

    from bert_keras.explain import explain_texts, explain_with_saved_model, write_explanations

    if bool(FLAGS.model_dir) == bool(FLAGS.saved_model):
        raise app.UsageError("Pass exactly one of --model_dir and --saved_model.")
    texts = read_texts(FLAGS.text, FLAGS.texts_file)
    if FLAGS.question or FLAGS.context:
        if len(FLAGS.question) != len(FLAGS.context) or texts:
            raise app.UsageError("Span QA takes as many --question as --context, and no --text.")
    elif not texts:
        raise app.UsageError("Nothing to explain: pass --text (repeatable) or --texts_file.")
    source = FLAGS.model_dir or FLAGS.saved_model
    output = FLAGS.output or os.path.join(source if os.path.isdir(source) else os.path.dirname(source),
                                          "explanations")
    if FLAGS.saved_model:
        if FLAGS.method != "ig" or FLAGS.question:
            raise app.UsageError("--saved_model explains classifier texts with its `explain` signature (integrated "
                                 "gradients); for other methods or QA, use --model_dir.")
        explanations = explain_with_saved_model(FLAGS.saved_model, texts)
    else:
        path = FLAGS.model_dir if FLAGS.model_dir.endswith(".keras") else os.path.join(FLAGS.model_dir, "model.keras")
        if not os.path.exists(path):
            raise app.UsageError(f"{path} does not exist: --model_dir takes a trainers.finetune output directory "
                                 "or a .keras file.")
        model = keras.saving.load_model(path, safe_mode=True)
        target = FLAGS.target
        if target is not None and target.isdigit():
            target = int(target)
        x = (FLAGS.question, FLAGS.context) if FLAGS.question else texts
        explanations = explain_texts(model, x, FLAGS.method, steps=FLAGS.steps, baseline=FLAGS.baseline,
                                     target=target)
    paths = write_explanations(explanations, output)
    for e in explanations:
        score = f"{e.target_score:.3f}" + (f", completeness error {e.completeness_error:.2e}"
                                            if e.completeness_error is not None else "")
        words = ", ".join(f"{w} {a:+.3f}" for w, a in e.top_words(3))
        print(f"{str(e.label):>10}  {e.target} = {score}; top words: {words}\n            {e.text[:100]}")
    print(f"\nWrote {paths['json']}, {len(paths['png'])} PNGs and the report {paths['html']}")


def cli():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    cli()
