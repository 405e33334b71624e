"""Keras's own int8 (`model.quantize("int8")`) as a serving option, measured against float32 on a model dir.

    .venv/bin/python tools/keras_int8.py --model_dir runs/compression/teacher [--out runs/keras_int8]

Quantizes a copy of the fine-tuned classifier with Keras 3's `Model.quantize("int8")` (int8 weights with per-channel
scales and activations quantized on the fly, in every `Dense` of the encoder and the head), then on the seeded
Rotten Tomatoes test split: argmax agreement and largest probability difference with the float32 model (1,281
reviews), whether `model.export()` writes a string-in SavedModel that TF Serving's TF1 session loader runs, and,
loader against loader in this one process, batch-1 p50 latency and batch-64 throughput (640 reviews, float32 and
int8 in turn, best of 3 rounds). Writes `<out>/result.json` and prints a table.
"""

import argparse
import json
import os
import time

import bert_keras  # noqa: F401  (sets the oneDNN switch before TensorFlow loads)


def _session(path):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    sess = tf.compat.v1.Session(graph=tf.Graph())
    meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
    sig = meta.signature_def["serving_default"]
    return lambda texts: sess.run(sig.outputs["probabilities"].name, {sig.inputs["text"].name: texts})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--out", default="runs/keras_int8")
    args = parser.parse_args()
    import keras
    import numpy as np

    from bert_keras.data import real_datasets

    os.makedirs(args.out, exist_ok=True)
    texts = [t for t, _ in real_datasets.rotten_tomatoes(seed=0)["test"]]
    model = keras.saving.load_model(os.path.join(args.model_dir, "model.keras"), safe_mode=True)
    quantized = model.plain_copy()
    start = time.time()
    quantized.quantize("int8")
    quantize_seconds = time.time() - start
    float_probs = model.predict(texts, verbose=0)
    int8_probs = quantized.predict(texts, verbose=0)
    result = {"model_dir": os.path.abspath(args.model_dir), "examples": len(texts),
              "argmax_agreement": float(np.mean(float_probs.argmax(-1) == int8_probs.argmax(-1))),
              "max_prob_diff": float(np.abs(float_probs - int8_probs).max()),
              "quantize_seconds": round(quantize_seconds, 2)}
    paths = {}
    for name, m in (("float32", model), ("int8", quantized)):
        target = os.path.join(args.out, f"export_{name}")
        try:
            paths[name] = m.export(target, explain_steps=0)
        except Exception as error:  # reported, not hidden: the table says which export failed and why
            result[f"export_{name}_error"] = f"{type(error).__name__}: {error}"[:500]
    sessions = {}
    for name, path in paths.items():
        try:
            sessions[name] = _session(path)
            served = np.concatenate([sessions[name](texts[i:i + 64]) for i in range(0, 320, 64)])
            reference = float_probs if name == "float32" else int8_probs
            result[f"{name}_tf1_loader_max_diff_vs_keras"] = float(np.abs(served - reference[:320]).max())
            size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
            result[f"{name}_savedmodel_mb"] = round(size / 1e6, 1)
        except Exception as error:
            result[f"{name}_tf1_loader_error"] = f"{type(error).__name__}: {error}"[:500]
    batches = [texts[i:i + 64] for i in range(0, 640, 64)]
    for name, run in sessions.items():
        run(batches[0])
    throughput, latency = {}, {}
    for _ in range(3):
        for name, run in sessions.items():
            start = time.perf_counter()
            for batch in batches:
                run(batch)
            throughput[name] = max(throughput.get(name, 0.0), 640 / (time.perf_counter() - start))
            times = []
            for text in texts[:30]:
                start = time.perf_counter()
                run([text])
                times.append(time.perf_counter() - start)
            latency[name] = min(latency.get(name, 1e9), 1e3 * float(np.median(times)))
    for name in sessions:
        result[f"{name}_batch64_seq_per_s"] = round(throughput[name], 1)
        result[f"{name}_batch1_p50_ms"] = round(latency[name], 2)
    with open("/proc/cpuinfo") as f:
        result["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
