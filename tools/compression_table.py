"""The compression table (README, "Compression"): Rotten Tomatoes teacher -> students -> TFLite int8, measured.

    .venv/bin/python tools/compression_table.py [--out runs/compression] [--seeds 0,1,2] [--epochs 2]
        [--rows teacher,distilled3,labels3,tiny_distilled,tiny_scratch,layers3,hidden3]

Every model is trained by the CLIs (`trainers.finetune` for the teacher and `tiny` from scratch, `trainers.distill`
for the students), each in its own process, on the bundled seeded split (10,246 / 1,281 / 1,281 reviews, split
seed 0 for every run; `--seed` varies initialisation and order): the teacher is the bundled all-MiniLM-L6-v2
fine-tuned on the full training split; `distilled3` its 3-layer student (blocks 0, 2, 4, embeddings, pooler and head
from the teacher) trained on T=2 soft targets + labels (alpha 0.5); `labels3` the same student trained on the
labels only (alpha 1: Keras's Distiller then never runs the teacher); `tiny_distilled` a random `tiny` student
distilled; `tiny_scratch` `tiny` trained on the labels; `layers3` the `distilled3` student with the hidden-state
MSE and attention KL added (weight 1 each, TinyBERT's uniform map: student blocks 0, 1, 2 <- teacher blocks 1, 3, 5);
`hidden3` the same with the hidden-state MSE alone.
Each model dir is exported (`export.saved_model`), converted
to TFLite int8-dynamic with the tokenizer inside (`export.tflite`) and compared on 300 test reviews
(`export.verify`: argmax agreement, sizes, batch-1 p50 latency); batch-64 throughput is the SavedModel's
`serving_default` on 640 test reviews, every model in turn in this one process (two rounds, the better kept),
the teacher always among them (each row keeps the teacher's figure of its run).
Finished runs are kept (their metrics.json), so a killed study resumes. Writes `<out>/results.json` (rows not
asked for this time are kept from the file as they were) and prints the table.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMON = ["--dataset=rotten_tomatoes", "--split_seed=0", "--seq_length=128", "--batch_size=32", "--verbose=2",
          "--mixed_precision=float32"]


def _run(args, log):
    start = time.time()
    with open(log, "w") as f:
        subprocess.run([sys.executable, "-m", *args], cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, check=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return time.time() - start


def train(name, seed, out, epochs, teacher_dir):
    """Trains one row's model for one seed (unless done); returns its model dir."""
    from bert_keras.data.real_corpora import minilm_dir

    model_dir = os.path.join(out, name if name == "teacher" else f"{name}_seed{seed}")
    if os.path.exists(os.path.join(model_dir, "metrics.json")):
        return model_dir
    common = COMMON + [f"--model_dir={model_dir}", f"--seed={seed}", f"--epochs={epochs}"]
    if name == "teacher":
        args = ["trainers.finetune", f"--init_checkpoint={minilm_dir()}", "--learning_rate=1e-4", *common]
    elif name == "tiny_scratch":
        args = ["trainers.finetune", "--config=tiny", f"--vocab={os.path.join(minilm_dir(), 'vocab.txt')}",
                "--learning_rate=1e-3", *common]
    else:
        student = {"distilled3": ["--student_layers=3", "--alpha=0.5", "--learning_rate=1e-4"],
                   "labels3": ["--student_layers=3", "--alpha=1.0", "--learning_rate=1e-4"],
                   "tiny_distilled": ["--student_config=tiny", "--alpha=0.5", "--learning_rate=1e-3"],
                   "layers3": ["--student_layers=3", "--alpha=0.5", "--hidden_weight=1", "--attention_weight=1",
                               "--learning_rate=1e-4"],
                   "hidden3": ["--student_layers=3", "--alpha=0.5", "--hidden_weight=1", "--learning_rate=1e-4"]}[name]
        args = ["trainers.distill", f"--teacher_dir={teacher_dir}", "--temperature=2", *student, *common]
    os.makedirs(model_dir, exist_ok=True)
    seconds = _run(args, os.path.join(model_dir, "train.log"))
    with open(os.path.join(model_dir, "wall_seconds.json"), "w") as f:
        json.dump({"wall_seconds": round(seconds, 1)}, f)
    return model_dir


def saved_model(model_dir):
    """The model dir's SavedModel export (made once): its export dir, version 1 inside."""
    export_dir = os.path.join(model_dir, "export")
    if not os.path.isdir(os.path.join(export_dir, "1")):
        _run(["export.saved_model", f"--model_dir={model_dir}", f"--export_dir={export_dir}", "--version=1",
              "--explain_steps=0"], os.path.join(model_dir, "export.log"))
    return export_dir


def export_and_verify(model_dir, texts):
    """Exports, converts to TFLite int8-dynamic, verifies; returns the row's serving figures."""
    from bert_keras.export.verify import verify

    export_dir = saved_model(model_dir)
    lite = os.path.join(model_dir, "int8_dynamic.tflite")
    if not os.path.exists(lite):
        _run(["export.tflite", f"--saved_model={export_dir}/1", f"--output={lite}", "--quantize=int8_dynamic"],
             os.path.join(model_dir, "tflite.log"))
    report = verify(model_dir, os.path.join(export_dir, "1"), [lite], texts=texts)
    tf1 = next(r for r in report["rows"] if "TF1" in r["runtime"])
    tfl = next(r for r in report["rows"] if r["runtime"].startswith("TFLite"))
    return {"savedmodel_mb": tf1["size_mb"], "tflite_mb": tfl["size_mb"], "savedmodel_p50_ms": tf1["latency_ms_batch1"],
            "tflite_p50_ms": tfl["latency_ms_batch1"], "tflite_argmax_agreement": tfl["argmax_agreement"],
            "tflite_max_abs_diff": tfl["max_abs_diff"]}


def throughput(export_dirs, texts, rounds=2):
    """Batch-64 sequences/s of each export's serving_default on `texts`, the exports in turn, best of `rounds`."""
    import tensorflow as tf

    loaded = {name: tf.saved_model.load(d).signatures["serving_default"] for name, d in export_dirs.items()}
    batches = [tf.constant(texts[i:i + 64]) for i in range(0, len(texts), 64)]
    best = {}
    for name, fn in loaded.items():
        fn(text=batches[0])  # warm up
    for _ in range(rounds):
        for name, fn in loaded.items():
            start = time.perf_counter()
            for batch in batches:
                fn(text=batch)
            best[name] = max(best.get(name, 0.0), len(texts) / (time.perf_counter() - start))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/compression")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rows", default="teacher,distilled3,labels3,tiny_distilled,tiny_scratch")
    args = parser.parse_args()
    import numpy as np

    from bert_keras.data import real_datasets

    out = os.path.abspath(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = args.rows.split(",")
    test = real_datasets.rotten_tomatoes(seed=0)["test"]
    texts = [t for t, _ in test]
    teacher_dir = train("teacher", 0, out, args.epochs, None)
    results = {}
    for name in rows:
        runs = []
        for seed in ([0] if name == "teacher" else seeds):
            model_dir = train(name, seed, out, args.epochs, teacher_dir)
            with open(os.path.join(model_dir, "metrics.json")) as f:
                metrics = json.load(f)
            with open(os.path.join(model_dir, "wall_seconds.json")) as f:
                wall = json.load(f)["wall_seconds"]
            runs.append({"seed": seed, "model_dir": model_dir, "test_accuracy": metrics["test"]["accuracy"],
                         "wall_seconds": wall, "parameters": (metrics.get("distillation") or {}).get("parameters")})
            print(name, seed, runs[-1], flush=True)
        serving = export_and_verify(runs[0]["model_dir"], texts[:300])
        acc = np.array([r["test_accuracy"] for r in runs])
        results[name] = {"runs": runs, "test_accuracy_mean": float(acc.mean()),
                         "test_accuracy_sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                         "wall_seconds_mean": float(np.mean([r["wall_seconds"] for r in runs])), **serving}
    import keras

    for name, row in results.items():
        model = keras.saving.load_model(os.path.join(row["runs"][0]["model_dir"], "model.keras"), safe_mode=True)
        row["parameters"] = int(model.count_params())
        del model
    # The teacher is measured in every run, and each row keeps the teacher's figure of its own run: speeds from
    # runs at other times (this VM drifts) are compared through it.
    exports = {name: os.path.join(row["runs"][0]["model_dir"], "export", "1") for name, row in results.items()}
    exports.setdefault("teacher", os.path.join(saved_model(teacher_dir), "1"))
    speeds = throughput(exports, texts[:640])
    for name, row in results.items():
        row["batch64_seq_per_s"] = round(speeds[name], 1)
        row["teacher_batch64_seq_per_s_same_run"] = round(speeds["teacher"], 1)
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    path = os.path.join(out, "results.json")
    if os.path.exists(path):  # keep the rows not run this time
        with open(path) as f:
            results = {**json.load(f)["rows"], **results}
    summary = {"cpu": cpu, "cores": os.cpu_count(), "epochs": args.epochs, "seeds": seeds, "rows": results}
    os.makedirs(out, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(path + ".tmp", path)
    print(format_table(summary))


def format_table(summary):
    teacher = summary["rows"].get("teacher")
    lines = ["| model | test accuracy (mean ± sd) | of teacher | parameters | SavedModel MB | TFLite int8 MB | "
             "p50 ms SavedModel / TFLite (batch 1) | batch-64 seq/s | TFLite argmax agreement (300) | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in summary["rows"].items():
        share = f"{100 * r['test_accuracy_mean'] / teacher['test_accuracy_mean']:.1f}%" if teacher else "-"
        lines.append(f"| {name} | {r['test_accuracy_mean']:.4f} ± {r['test_accuracy_sd']:.4f} ({len(r['runs'])}) | "
                     f"{share} | {r['parameters']:,} | {r['savedmodel_mb']} | {r['tflite_mb']} | "
                     f"{r['savedmodel_p50_ms']} / {r['tflite_p50_ms']} | {r['batch64_seq_per_s']} | "
                     f"{r['tflite_argmax_agreement']:.4f} | {r['wall_seconds_mean']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
