"""Long documents on BBC News: truncate vs head + tail vs windows, through the Python API (README, "Long documents").

    .venv/bin/python tools/bbc_long_documents.py [--modes truncate,head_tail,windows,windows_documents] [--epochs 2]
        [--seq_length 128] [--window_stride 126] [--max_windows 8] [--document_batch_size 8] [--train_examples 0]
        [--out runs/bbc_long]

Whole articles (title + every paragraph; the bundled split's texts keep the first 3 paragraphs), the seeded
train/dev/test split of `bert_keras.data.real_datasets.bbc_news`, the bundled MiniLM fine-tuned per mode with the
same recipe (lr 1e-4, batch 32, seed 0). Windows train either on each window with its article's label
(`windows`, batches of 32 windows) or on whole articles, the loss on their windows' mean logits
(`windows_documents`, batches of `--document_batch_size` articles: about as many windows per step). For windows,
the test accuracy is reported with both aggregations (mean and max of the windows' logits), from the same model.
Prints a table and writes `<out>/result.json`.
"""

import argparse
import json
import os
import time

import bert_keras  # noqa: F401  (sets the oneDNN switch before TensorFlow loads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="truncate,head_tail,windows,windows_documents")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--window_stride", type=int, default=126)
    parser.add_argument("--max_windows", type=int, default=8)
    parser.add_argument("--document_batch_size", type=int, default=8)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--train_examples", type=int, default=0, help="0: the whole training split")
    parser.add_argument("--out", default="runs/bbc_long")
    args = parser.parse_args()

    import keras
    import numpy as np

    from bert_keras import BertClassifier
    from bert_keras.data import real_datasets
    from bert_keras.data.real_corpora import minilm_dir

    splits = real_datasets.bbc_news(seed=0, paragraphs=None)
    (train_x, train_y), (dev_x, dev_y), (test_x, test_y) = (
        ([t for t, _ in splits[s]], [y for _, y in splits[s]]) for s in ("train", "dev", "test"))
    labels = sorted(set(train_y))
    if args.train_examples:
        train_x, train_y = train_x[:args.train_examples], train_y[:args.train_examples]
    results = {}
    for mode in args.modes.split(","):
        keras.utils.set_random_seed(0)
        documents = mode == "windows_documents"
        clf = BertClassifier.from_pretrained(minilm_dir(), labels=labels, seq_length=args.seq_length,
                                             precision="float32", long_document="windows" if documents else mode,
                                             window_stride=args.window_stride if "windows" in mode else None,
                                             max_windows=args.max_windows,
                                             window_training="documents" if documents else "windows")
        pieces = clf.preprocessor.tokenizer.tokenize(test_x).row_lengths().numpy()
        clf.compile(learning_rate=args.learning_rate)
        start = time.time()
        clf.fit(train_x, train_y, batch_size=args.document_batch_size if documents else 32, epochs=args.epochs,
                verbose=2)
        seconds = time.time() - start
        row = {"fit_seconds": round(seconds, 1), "test_pieces_mean": float(pieces.mean())}
        for how in (("mean", "max") if clf.windowed else ("mean",)):
            clf.window_aggregation = how
            row[f"test_accuracy_{how}"] = clf.task_metrics(test_x, test_y)["accuracy"]
            row[f"dev_accuracy_{how}"] = clf.task_metrics(dev_x, dev_y)["accuracy"]
        if clf.windowed:
            _, _, counts, capped = clf.preprocessor.windows(test_x)
            row["test_windows_mean"] = float(np.mean(counts.numpy()))
            row["test_capped"] = int(np.sum(capped.numpy()))
        results[mode] = row
        print(mode, json.dumps(row), flush=True)
    print(f"\nBBC News, whole articles, seq {args.seq_length}, {args.epochs} epochs, {len(train_x)} train / "
          f"{len(test_x)} test")
    print("| mode | test accuracy | dev accuracy | fit seconds |\n|---|---:|---:|---:|")
    for mode, row in results.items():
        for key in sorted(k for k in row if k.startswith("test_accuracy")):
            how = key.rsplit("_", 1)[1]
            name = f"{mode} ({how} of logits)" if mode.startswith("windows") else mode
            print(f"| {name} | {row[key]:.4f} | {row['dev_accuracy_' + how]:.4f} | {row['fit_seconds']:.0f} |")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "result.json"), "w", encoding="utf-8") as f:
        json.dump({"args": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
