"""Faithfulness and completeness of the explanations, on real held-out Rotten Tomatoes reviews (README,
"Explanations").

    .venv/bin/python tools/explain_faithfulness.py [--model runs/explain/model.keras] [--reviews 200] [--steps 64]

Without `--model`, fine-tunes the bundled MiniLM first (the seeded train split, seq 64, 1 epoch, lr 1e-4, saved to
`<out>/model.keras` and reused next time). Then, on the first `--reviews` reviews of the seeded test split:
integrated gradients' completeness error at 8-128 steps (median, p95, max), and ERASER's comprehensiveness and
sufficiency AOPC (top 1/5/10/20/50% of WordPieces replaced by [MASK]) for integrated gradients, gradient x input,
attention rollout, the last layer's raw attention and a random ranking. Prints the tables and writes
`<out>/faithfulness.json`. The measuring is `bert_keras.explain.faithfulness` (`compare_methods`,
`completeness_study`); this script only loads data and prints.
"""

import argparse
import json
import os
import platform
import time

import bert_keras  # noqa: F401  (sets the oneDNN switch before TensorFlow loads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a fine-tuned BertClassifier .keras file")
    parser.add_argument("--reviews", type=int, default=200)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--out", default="runs/explain")
    args = parser.parse_args()

    import keras

    from bert_keras import BertClassifier
    from bert_keras.data import real_datasets
    from bert_keras.data.real_corpora import minilm_dir
    from bert_keras.explain.faithfulness import compare_methods, completeness_study

    splits = real_datasets.rotten_tomatoes(seed=0)
    path = args.model or os.path.join(args.out, "model.keras")
    if not os.path.exists(path):
        keras.utils.set_random_seed(0)
        clf = BertClassifier.from_pretrained(minilm_dir(), labels=["fresh", "rotten"], seq_length=64,
                                             precision="float32")
        clf.compile(learning_rate=1e-4)
        start = time.time()
        clf.fit([t for t, _ in splits["train"]], [y for _, y in splits["train"]], batch_size=32, epochs=1, verbose=2)
        print(f"fine-tuned in {time.time() - start:.0f} s")
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        clf.save(path)
    model = keras.saving.load_model(path, safe_mode=True)
    test = splits["test"][:args.reviews]
    texts = [t for t, _ in test]
    accuracy = sum(p == y for p, (_, y) in zip(model.predict_labels(texts), test)) / len(test)
    print(f"{path}: accuracy {accuracy:.3f} on the {len(texts)} held-out reviews explained")

    start = time.time()
    completeness = completeness_study(model, texts)
    print(f"\nIntegrated gradients' completeness error over {len(texts)} reviews ({time.time() - start:.0f} s)")
    print("| steps | median | p95 | max |\n|---:|---:|---:|---:|")
    for n, row in completeness.items():
        if isinstance(n, int):
            print(f"| {n} | {row['median']:.2e} | {row['p95']:.2e} | {row['max']:.2e} |")
    print(f"fewest steps with p95 <= 0.05: {completeness['steps_for_p95_under_5pct']}")

    table = compare_methods(model, texts, steps=args.steps)
    print(f"\nERASER faithfulness over {len(texts)} reviews (AOPC over the top 1/5/10/20/50% of WordPieces "
          "replaced by [MASK]; comprehensiveness: higher is better, sufficiency: lower is better)")
    print("| method | comprehensiveness | sufficiency | seconds |\n|---|---:|---:|---:|")
    for method, row in table.items():
        print(f"| {method} | {row['comprehensiveness']:.3f} | {row['sufficiency']:.3f} | {row['seconds']:.0f} |")
    ratio = table["ig"]["comprehensiveness"] / max(table["random"]["comprehensiveness"], 1e-9)
    print(f"integrated gradients' comprehensiveness / random's: {ratio:.1f}x")
    result = {"model": path, "reviews": len(texts), "accuracy": accuracy, "steps": args.steps,
              "completeness": {str(k): v for k, v in completeness.items()}, "faithfulness": table,
              "ig_over_random": ratio, "cpu": platform.processor() or platform.machine()}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "faithfulness.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, default=str)


if __name__ == "__main__":
    main()
