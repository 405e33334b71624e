"""Parity report: the Keras model vs its SavedModel (TF2 loader and TF1 session loader, as TF Serving loads it)
vs each TFLite variant, on a few hundred real sentences.

    python -m export.verify --model_dir=runs/demo/rotten_tomatoes --export_dir=runs/demo/export \
        [--version=N] [--tflite_dir=runs/demo] [--convert] [--examples=300] [--output=report.json]

For every runtime: max |difference| from Keras on the main output (`probabilities` for a classifier, `score`
for a regressor, `logits` for a tagger, `start_logits`/`end_logits` for span QA), argmax agreement with Keras
(classifier: label; tagger: tag of every real token; QA: start and end position), for a classifier the widest
Keras margin (top-1 minus top-2 probability) among the texts whose label changed, file size, and median
batch-1 latency (text in, tokenization included, except for id-input TFLite models which are timed on
features). Printed as a table and written as JSON. `--convert` first writes the standard TFLite set into
`--tflite_dir` (`model.tflite`, `model_float16.tflite`, `model_int8_dynamic.tflite`, `model_int8.tflite`, and
`model_ids.tflite`; tagging and QA models get id-input files only).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import statistics  # noqa: E402
import time  # noqa: E402



def tflite_set(task):
    """[(file name, inputs, quantize)] of the standard TFLite variants for a task."""
    if task in ("classify", "regress"):
        return [("model.tflite", "text", "none"), ("model_float16.tflite", "text", "float16"),
                ("model_int8_dynamic.tflite", "text", "int8_dynamic"), ("model_int8.tflite", "text", "int8"),
                ("model_ids.tflite", "ids", "none")]
    return [(f"model_ids{'' if q == 'none' else '_' + q}.tflite", "ids", q)
            for q in ("none", "float16", "int8_dynamic", "int8")]


def convert_all(saved_model_dir, tflite_dir, calibration_file=None):
    """Writes the standard TFLite set into `tflite_dir`; returns their paths."""
    from bert_keras.export.saved_model import read_metadata
    from bert_keras.export.tflite import convert

    paths = []
    for name, inputs, quantize in tflite_set(read_metadata(saved_model_dir)["task"]):
        paths.append(convert(saved_model_dir, os.path.join(tflite_dir, name), quantize, inputs, calibration_file))
    return paths


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def _latency(fn, repeats=20):
    fn()  # warm-up (tracing, allocation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _main_outputs(task, outputs):
    if task == "classify":
        return {"probabilities": outputs["probabilities"]}
    if task == "regress":
        return {"score": outputs["score"]}
    if task == "tag":
        return {"logits": outputs["logits"]}
    return {"start_logits": outputs["start_logits"], "end_logits": outputs["end_logits"]}


def _agreement(task, reference, outputs, mask):
    import numpy as np

    if task == "classify":
        return float(np.mean(reference["probabilities"].argmax(-1) == outputs["probabilities"].argmax(-1)))
    if task == "tag":
        same = reference["logits"].argmax(-1) == outputs["logits"].argmax(-1)
        return float(same[mask > 0].mean())
    if task == "qa":
        return float(np.mean([np.mean(reference[k].argmax(-1) == outputs[k].argmax(-1))
                              for k in ("start_logits", "end_logits")]))
    return None


def _widest_flipped_margin(task, reference, outputs):
    """Classifier: the largest Keras top-1 minus top-2 probability among texts whose label changed (0 if none),
    which tells whether flips happen only on near-ties."""
    import numpy as np

    if task != "classify":
        return None
    probabilities = reference["probabilities"]
    flipped = probabilities.argmax(-1) != outputs["probabilities"].argmax(-1)
    top2 = np.sort(probabilities, axis=-1)[:, -2:]
    return float((top2[:, 1] - top2[:, 0])[flipped].max()) if flipped.any() else 0.0


def verify(model_dir, saved_model_dir, tflite_paths=(), texts=None, batch_size=32):
    """Runs the comparison; returns {"rows": [...], "examples": n, "task": ...}."""
    import keras
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    from bert_keras import BertTokenizer
    from bert_keras.export.saved_model import EXPORT_DTYPES, read_metadata, sample_texts
    from bert_keras.export.tflite_model import TFLiteModel

    metadata = read_metadata(saved_model_dir)
    task, seq_length = metadata["task"], metadata["seq_length"]
    texts = texts if texts is not None else sample_texts(metadata, "test", limit=300)
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    model = keras.saving.load_model(os.path.join(model_dir, "model.keras"), safe_mode=True)
    # The reference computes in the export's precision (a model trained under mixed_bfloat16 exports float32 by
    # default): the table then shows what the export changes, not what the precision does.
    policy = EXPORT_DTYPES[metadata.get("export_dtype", "float32")]
    if model.encoder.embeddings.dtype_policy.name != policy:
        model = model.plain_copy(dtype=policy)
    features = {k: v.numpy() for k, v in tokenizer(texts, seq_length=seq_length).items()}
    batches = [slice(i, i + batch_size) for i in range(0, len(texts), batch_size)]
    text_in = task in ("classify", "regress")

    def collect(run):
        parts = [run(s) for s in batches]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def keras_outputs(s):
        out = model.serving_outputs(model({k: v[s] for k, v in features.items()}, training=False))
        return {k: np.asarray(v) for k, v in _main_outputs(task, out).items()}

    reference = collect(keras_outputs)  # the first seq_length pieces: what an ids-in runtime reads
    long_document = getattr(getattr(model, "preprocessor", None), "long_document", "truncate")
    if text_in and long_document != "truncate":
        # A windowed or head + tail classifier's string-in export reads what `predict` reads, not the first pieces.
        predicted = np.asarray(model.predict(texts, batch_size=batch_size, verbose=0))
        text_reference = {"probabilities": predicted} if task == "classify" else {"score": predicted}
    else:
        text_reference = reference
    one = texts[:1]

    def keras_one():
        return model(tokenizer(one, seq_length=seq_length), training=False)

    runtimes = [("Keras (model.keras, eager call)" if text_reference is reference else
                 f"Keras (model.keras, predict: {long_document})", text_reference,
                 _size(os.path.join(model_dir, "model.keras")), _latency(keras_one), text_reference)]

    loaded = tf.saved_model.load(saved_model_dir)
    signature = loaded.signatures["serving_default" if text_in else "serve_features"]

    def tf2_run(s):
        if text_in:
            out = signature(text=tf.constant(texts[s]))
        else:
            out = signature(**{k: tf.constant(v[s]) for k, v in features.items()})
        return {k: v.numpy() for k, v in _main_outputs(task, out).items()}

    def tf2_one():
        if text_in:
            return signature(text=tf.constant(one))
        return signature(**{k: tf.constant(v[:1]) for k, v in features.items()})

    in_reference = text_reference if text_in else reference
    runtimes.append(("SavedModel, tf.saved_model.load", collect(tf2_run), _size(saved_model_dir), _latency(tf2_one),
                     in_reference))

    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], saved_model_dir)
        sig = meta.signature_def["serving_default" if text_in else "serve_features"]
        fetches = {k: v.name for k, v in sig.outputs.items()}

        def tf1_feed(s):
            if text_in:
                return {sig.inputs["text"].name: texts[s]}
            return {sig.inputs[k].name: v[s] for k, v in features.items()}

        tf1 = collect(lambda s: _main_outputs(task, sess.run(fetches, tf1_feed(s))))
        runtimes.append(("SavedModel, TF1 session loader (Serving)", tf1, _size(saved_model_dir),
                         _latency(lambda: sess.run(fetches, tf1_feed(slice(0, 1)))), in_reference))

    for path in tflite_paths:
        lite = TFLiteModel(path)

        def lite_run(s, lite=lite):
            out = lite(text=texts[s]) if lite.takes_text else lite(**{k: v[s] for k, v in features.items()})
            return _main_outputs(task, out)

        def lite_one(lite=lite):
            if lite.takes_text:
                return lite(text=one)
            return lite(**{k: v[:1] for k, v in features.items()})

        runtimes.append((f"TFLite {os.path.basename(path)} ({'text' if lite.takes_text else 'ids'} in)",
                         collect(lite_run), _size(path), _latency(lite_one),
                         text_reference if lite.takes_text else reference))

    rows = []
    for name, outputs, size, latency, expected in runtimes:
        diff = max(float(np.max(np.abs(outputs[k].astype(np.float64) - expected[k]))) for k in expected)
        rows.append({"runtime": name, "max_abs_diff": diff,
                     "argmax_agreement": _agreement(task, expected, outputs, features["input_mask"]),
                     "widest_flipped_margin": _widest_flipped_margin(task, expected, outputs),
                     "size_mb": round(size / 1e6, 2), "latency_ms_batch1": round(latency, 2)})
    return {"task": task, "examples": len(texts), "seq_length": seq_length, "rows": rows,
            "reference_dtype_policy": model.encoder.embeddings.dtype_policy.name,
            "outputs_compared": sorted(reference)}


def format_table(report):
    lines = [f"Parity on {report['examples']} real texts ({report['task']}, seq {report['seq_length']}; "
             f"compared: {', '.join(report['outputs_compared'])}):", "",
             "| runtime | max abs diff vs Keras | argmax agreement | widest flipped margin | size MB | "
             "batch-1 latency ms |",
             "|---|---|---|---|---|---|"]
    for row in report["rows"]:
        agreement = "n/a" if row["argmax_agreement"] is None else f"{row['argmax_agreement']:.4f}"
        margin = "n/a" if row["widest_flipped_margin"] is None else f"{row['widest_flipped_margin']:.3f}"
        lines.append(f"| {row['runtime']} | {row['max_abs_diff']:.2e} | {agreement} | {margin} | "
                     f"{row['size_mb']:.1f} | {row['latency_ms_batch1']:.1f} |")
    return "\n".join(lines)


def verify_export_dir(model_dir, export_dir, version=None, tflite_dir=None, convert=False, texts_file=None,
                      examples=300, output=None):
    """The parity report of a version under `export_dir` (default: the highest) and the TFLite set found in
    `tflite_dir` (default: `export_dir`; `convert` writes the set first), on `examples` texts from `texts_file` or
    the model's dataset's test split; written as JSON to `output` (default: `export_dir/parity_v<version>.json`,
    atomically). What `python -m export.verify` and `trainers.demo` run. Returns (report, output path)."""
    from bert_keras.data.utf8_file import atomic_write_json
    from bert_keras.export.saved_model import export_versions, read_metadata, sample_texts

    versions = export_versions(export_dir)
    if not versions:
        raise FileNotFoundError(f"No numbered version under {export_dir}; run export.saved_model first.")
    version = version or versions[-1]
    saved_model_dir = os.path.join(export_dir, str(version))
    if not os.path.isdir(saved_model_dir):
        raise FileNotFoundError(f"{export_dir} has no version {version} (it has {versions}).")
    tflite_dir = tflite_dir or export_dir
    if convert:
        convert_all(saved_model_dir, tflite_dir)
    metadata = read_metadata(saved_model_dir)
    paths = [os.path.join(tflite_dir, name) for name, _, _ in tflite_set(metadata["task"])]
    paths = [p for p in paths if os.path.exists(p)]
    report = verify(model_dir, saved_model_dir, paths, sample_texts(metadata, "test", texts_file, examples))
    output = output or os.path.join(export_dir, f"parity_v{version}.json")
    atomic_write_json(output, report)
    return report, output

