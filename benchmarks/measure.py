"""One measurement, in its own process: `python -m benchmarks.measure '<json spec>'` prints one JSON record.

Each measurement runs in a fresh interpreter so that settings read once at TensorFlow's import
(`TF_ENABLE_ONEDNN_OPTS`) can differ between peers, and so that one model's memory and thread pools do not
leak into the next. `benchmarks.run` builds the specs and collects the records.

Every figure is the median of `runs` timed repetitions after `warmup` untimed ones (min and max kept).
"""

import json
import os
import sys
import time

from benchmarks.timing import summary as _summary


def matmul_ceiling(spec):
    """fp32 GFLOP/s of one large square matmul, TensorFlow (as this process's oneDNN setting has it) and numpy."""
    import numpy as np
    import tensorflow as tf
    n = spec.get("n", 4096)
    a = tf.random.normal((n, n), seed=1)
    b = tf.random.normal((n, n), seed=2)
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    results = {}
    for name, fn in [("tensorflow", lambda: matmul().numpy()),
                     ("numpy", lambda an=a.numpy(), bn=b.numpy(): float(np.matmul(an, bn)[0, 0]))]:
        times = _time(fn, spec["warmup"], spec["runs"])
        results[name] = 2 * n ** 3 / np.median(times) / 1e9
        results[name + "_min_max"] = [2 * n ** 3 / max(times) / 1e9, 2 * n ** 3 / min(times) / 1e9]
    return {"gflops": max(results["tensorflow"], results["numpy"]), **results, "n": n}


def _time(fn, warmup, runs):
    """Seconds of each of `runs` calls of `fn()` after `warmup` untimed ones."""
    return _time_each(lambda _: fn(), [None] * (warmup + runs), warmup)


def _variants(spec):
    """The models one measurement times: `spec["models"]` (a list of {impl, jit, optimizer, full_last_block})
    or the spec itself."""
    return spec.get("models") or [{k: spec[k] for k in ("impl", "jit", "optimizer", "full_last_block") if k in spec}]


def _optimizer(variant):
    import keras
    from bert_keras.optimizers import create_optimizer
    optimizer = create_optimizer("adamw", 2e-5, total_steps=10_000)
    if variant.get("optimizer", "fused" if variant["impl"] == "bert_keras" else "keras") == "keras":
        # What a keras-hub user trains with: Keras's AdamW, same schedule, decay exclusions and clipping.
        optimizer = keras.optimizers.AdamW(optimizer._learning_rate, weight_decay=0.01, epsilon=1e-6,
                                           global_clipnorm=1.0)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def _set_precision(spec):
    """Every model of the measurement is built under the Keras dtype policy `spec["precision"]` (default
    float32): for keras-hub that is its documented way to mixed precision, for ours what `--mixed_precision`
    does."""
    import keras
    keras.mixed_precision.set_global_policy(spec.get("precision", "float32"))


def _alternate(steps, batch, warmup, runs):
    """Runs the models' steps in turn (A B C A B C ...), so that all of them see the same machine: on a
    shared VM the speed drifts by 20% within minutes, and back-to-back processes would compare different
    machines. Returns one summary per model."""
    times = [[] for _ in steps]
    for i in range(warmup + runs):
        for j, step in enumerate(steps):
            start = time.perf_counter()
            step()
            if i >= warmup:
                times[j].append(time.perf_counter() - start)
    return [_summary(t, batch) for t in times]


def train(spec):
    """Training steps (`train_on_batch`: the compiled `model.fit` step) on a synthetic batch, AdamW with warmup +
    decay and global-norm clipping; several models are stepped in turn (see `_alternate`).

    Optimizer: ours trains with `bert_keras.optimizers.create_optimizer` (the fused AdamW), keras-hub with
    `keras.optimizers.AdamW` on the same schedule; a variant's "optimizer" ("fused" / "keras") overrides that.
    """
    import keras
    import tensorflow as tf
    from benchmarks import models
    features, labels = models.synthetic_batch(spec["batch"], spec["seq"])
    _set_precision(spec)
    steps = []
    for variant in _variants(spec):
        model, adapt = models.build(variant["impl"], spec["config"], dropout=spec.get("dropout"),
                                    full_last_block=variant.get("full_last_block", False))
        model.compile(optimizer=_optimizer(variant),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=variant.get("jit", False))
        x = {k: tf.constant(v) for k, v in adapt(features).items()}
        y = tf.constant(labels)
        steps.append(lambda model=model, x=x, y=y: model.train_on_batch(x, y))
    results = _alternate(steps, spec["batch"], spec["warmup"], spec["runs"])
    return results[0] if "models" not in spec else {"models": results}


def infer(spec):
    """A compiled forward pass (`training=False`) on a synthetic batch; several models in turn."""
    import tensorflow as tf
    from benchmarks import models
    features, _ = models.synthetic_batch(spec["batch"], spec["seq"])
    _set_precision(spec)
    steps = []
    for variant in _variants(spec):
        model, adapt = models.build(variant["impl"], spec["config"],
                                    full_last_block=variant.get("full_last_block", False))
        inputs = {k: tf.constant(v) for k, v in adapt(features).items()}
        forward = tf.function(lambda x, model=model: model(x, training=False), jit_compile=variant.get("jit", False))
        steps.append(lambda forward=forward, inputs=inputs: forward(inputs).numpy())
    results = _alternate(steps, spec["batch"], spec["warmup"], spec["runs"])
    return results[0] if "models" not in spec else {"models": results}


def _review_texts(n, seed=0):
    """Real one-sentence requests: Rotten Tomatoes reviews (bundled corpus), shuffled."""
    import random
    from bert_keras.data import real_corpora
    texts = [t for t, _ in real_corpora.rotten_tomatoes()]
    random.Random(seed).shuffle(texts)
    return texts[:n]


_EXPORTS = {}


def _workdir(prefix):
    """A temporary directory removed when this process exits."""
    import atexit
    import shutil
    import tempfile
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _export_small_classifier(workdir, config, seq_length, pad_to_seq_length=False):
    """A `config`-size classifier with BERT's uncased vocab, laid out as `trainers.finetune` writes it, exported
    with `export.saved_model` (random weights: speed does not depend on them). Each made once per process."""
    from bert_keras.export.saved_model import export_saved_model
    key = (config, seq_length)
    if key not in _EXPORTS:
        _EXPORTS[key] = _model_dir(workdir, config, seq_length)
    if (key, pad_to_seq_length) not in _EXPORTS:
        model_dir = _EXPORTS[key]
        _EXPORTS[key, pad_to_seq_length] = export_saved_model(
            model_dir, os.path.join(os.path.dirname(model_dir), "export"), pad_to_seq_length=pad_to_seq_length)
    return _EXPORTS[key, pad_to_seq_length]


def _model_dir(workdir, config, seq_length):
    import keras
    from bert_keras import BertClassifier, BertEncoder, BertTokenizer
    from bert_keras.data.real_corpora import minilm_dir
    from bert_keras.data.utf8_file import atomic_write_json
    model_dir = os.path.join(workdir, "model")
    os.makedirs(model_dir, exist_ok=True)
    keras.utils.set_random_seed(0)
    tokenizer = BertTokenizer.from_pretrained(minilm_dir())
    model = BertClassifier(BertEncoder.from_config_name(config, vocab_size=tokenizer.vocab_size), num_classes=2)
    model.save(os.path.join(model_dir, "model.keras"))
    tokenizer.save_assets(model_dir)
    atomic_write_json(os.path.join(model_dir, "label_map.json"),
                      {"task": "classify", "labels": ["fresh", "rotten"], "seq_length": seq_length,
                       "dataset": "rotten_tomatoes"})
    return model_dir


def _latencies(fn, requests, warmup):
    """p50/p99 of `fn(request)` over `requests` after the first `warmup`."""
    import numpy as np
    times = np.asarray(_time_each(fn, requests, warmup))
    return {"p50_ms": float(1e3 * np.percentile(times, 50)), "p99_ms": float(1e3 * np.percentile(times, 99)),
            "requests": int(times.size), "seq_per_s": float(1.0 / np.median(times))}


def serve(spec):
    """The exported string-in SavedModel: batch-1 latency over real one-sentence requests, and batch-64 throughput.

    Also times the same model exported with `pad_to_seq_length=True` (every request padded to seq_length),
    which is how every request ran before padding was trimmed to the batch's longest row.
    """
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops the SavedModel uses)
    workdir = _workdir("bench-serve-")
    path = _export_small_classifier(workdir, spec["config"], spec["seq"])
    padded_path = _export_small_classifier(workdir, spec["config"], spec["seq"], pad_to_seq_length=True) \
        if spec.get("compare_padded", True) else None
    loaded = tf.saved_model.load(path)
    serving = loaded.signatures["serving_default"]
    texts = _review_texts(spec["requests"] + 64 * (spec["runs"] + spec["warmup"]))
    single = [tf.constant([t]) for t in texts[:spec["requests"]]]
    out = {"batch1": _latencies(lambda x: serving(text=x)["probabilities"].numpy(), single, spec["warmup"])}
    batches = [tf.constant(texts[spec["requests"] + 64 * i: spec["requests"] + 64 * (i + 1)])
               for i in range(spec["runs"] + spec["warmup"])]
    batch_times = _time_each(lambda x: serving(text=x)["probabilities"].numpy(), batches, spec["warmup"])
    out["batch64"] = _summary(batch_times, 64)
    if padded_path:
        padded = tf.saved_model.load(padded_path).signatures["serving_default"]
        out["batch1_padded"] = _latencies(lambda x: padded(text=x)["probabilities"].numpy(), single, spec["warmup"])
        same = [np.abs(serving(text=x)["probabilities"].numpy() - padded(text=x)["probabilities"].numpy()).max()
                for x in single[:20]]
        out["max_abs_diff_vs_padded"] = float(max(same))
    preprocess = loaded.signatures["preprocess"]
    out["mean_tokens_per_request"] = float(np.mean([np.sum(preprocess(text=x)["input_mask"]) for x in single]))
    out["seq_per_s"] = out["batch64"]["seq_per_s"]
    return out


def _time_each(fn, inputs, warmup):
    """Seconds of `fn(x)` for each x of `inputs` after the first `warmup` (untimed)."""
    for x in inputs[:warmup]:
        fn(x)
    times = []
    for x in inputs[warmup:]:
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return times


def tflite(spec):
    """The string-in TFLite model converted from the same kind of export: batch-1 latency, float32 and int8."""
    from bert_keras.export.tflite import convert
    from bert_keras.export.tflite_model import TFLiteModel
    workdir = _workdir("bench-tflite-")
    path = _export_small_classifier(workdir, spec["config"], spec["seq"])
    texts = _review_texts(spec["requests"])
    out = {}
    for quantize in spec["quantize"]:
        start = time.perf_counter()
        model_path = convert(path, os.path.join(workdir, f"model_{quantize}.tflite"), quantize=quantize,
                             calibration_examples=20)
        convert_s = time.perf_counter() - start
        model = TFLiteModel(model_path)
        out[quantize] = {**_latencies(lambda t: model(text=[t]), texts, spec["warmup"]),
                         "size_mb": os.path.getsize(model_path) / 1e6, "convert_s": convert_s}
    return out


def tokenize(spec):
    """Tokenize + pack to seq_length, sentences/s at batch `batch` over real reviews; the tokenizers of
    `spec["impls"]` take their runs in turn (see `_alternate`), each run `repeats` batches.

    bert_keras: `BertTokenizer` (tensorflow-text FastBertTokenizer + dense packer) in one tf.function.
    keras_hub: `BertTokenizer` + `BertTextClassifierPreprocessor` (its packer), same vocab.
    hf: Hugging Face `tokenizers` `BertWordPieceTokenizer` (Rust, all cores), `encode_batch_fast` with
        padding/truncation.
    """
    from bert_keras.data.real_corpora import minilm_dir
    vocab = os.path.join(minilm_dir(), "vocab.txt")
    texts = _review_texts(spec["batch"])
    seq = spec["seq"]
    repeats = spec.get("repeats", 1)
    steps, skipped = [], {}
    for impl in spec["impls"]:
        if impl == "bert_keras":
            import tensorflow as tf
            from bert_keras import BertTokenizer
            tokenizer = BertTokenizer.from_pretrained(minilm_dir())
            fn = tf.function(lambda x, tokenizer=tokenizer: tokenizer(x, seq_length=seq))
            batch = tf.constant(texts)
            step = lambda fn=fn, batch=batch: fn(batch)["input_word_ids"].numpy()  # noqa: E731
        elif impl == "keras_hub":
            import keras_hub
            import tensorflow as tf
            tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True)
            pre = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=seq)
            fn = tf.function(lambda x, pre=pre: pre(x))
            batch = tf.constant(texts)
            step = lambda fn=fn, batch=batch: fn(batch)["token_ids"].numpy()  # noqa: E731
        elif impl == "hf":
            try:
                from tokenizers import BertWordPieceTokenizer
            except ImportError:
                skipped[impl] = "the Hugging Face `tokenizers` package is not installed"
                continue
            tokenizer = BertWordPieceTokenizer(vocab, lowercase=True)
            tokenizer.enable_truncation(seq)
            tokenizer.enable_padding(length=seq)
            # encode_batch_fast: its best setting, without offsets (ours packs none here either); the same speed as
            # encode_batch on this VM (19-21k sentences/s both).
            step = lambda tokenizer=tokenizer: tokenizer._tokenizer.encode_batch_fast(texts)  # noqa: E731
        else:
            raise ValueError(f"Unknown tokenizer impl {impl!r}.")
        steps.append((impl, lambda step=step: [step() for _ in range(repeats)]))
    results = _alternate([s for _, s in steps], len(texts) * repeats, spec["warmup"], spec["runs"])
    return {"impls": {impl: r for (impl, _), r in zip(steps, results)}, **{k: {"skipped": v}
                                                                         for k, v in skipped.items()}}


def pretrain(spec):
    """`BertPretrainer` fit steps on BBC News pairs, rows padded to seq_length or to their length bucket.

    A timed run is `steps_per_run` steps (bucketed batches differ in length); seq/s is sequences per second,
    and the padding fraction is padding tokens / all token slots over the batches timed.
    """
    import keras
    import numpy as np
    import tensorflow as tf
    from bert_keras import BertEncoder, BertPretrainer, BertTokenizer
    from bert_keras.data.real_corpora import minilm_dir
    from bert_keras.text.mlm_masking import MlmMasker
    from bert_keras.text.nsp_pairs import create_segment_pairs, tokenize_documents
    from bert_keras.text.pretraining_dataset import default_buckets, pretraining_dataset
    from bert_keras.data.pretraining_corpus import load_corpus
    from bert_keras.optimizers import create_optimizer
    seq = spec["seq"]
    tokenizer = BertTokenizer.from_pretrained(minilm_dir())
    documents = load_corpus(["bbc_news"])[:spec.get("documents", 400)]
    pairs = create_segment_pairs(tokenize_documents(tokenizer, documents), seq)
    masker = MlmMasker(tokenizer.vocabulary, max_predictions_per_seq=20)
    buckets = default_buckets(seq) if spec["bucketed"] else None
    ds = pretraining_dataset(pairs, masker, spec["batch"], seq, seed=0, training=True, buckets=buckets)
    keras.utils.set_random_seed(0)
    model = BertPretrainer(BertEncoder.from_config_name(spec["config"], vocab_size=tokenizer.vocab_size))
    model.compile(optimizer=create_optimizer("adamw", 1e-4, total_steps=10_000), loss=model.default_loss(),
                  jit_compile=False)
    per_run = spec["steps_per_run"]
    total = (spec["warmup"] + spec["runs"]) * per_run
    batches = list(ds.take(total))
    real = [float(np.sum(f["input_mask"])) for f, _, _ in batches[spec["warmup"] * per_run:]]
    slots = [float(np.size(f["input_mask"])) for f, _, _ in batches[spec["warmup"] * per_run:]]
    stamps = []

    class Stamp(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if (batch + 1) % per_run == 0:
                stamps.append(time.perf_counter())

    dataset = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=ds.element_spec)
    start = time.perf_counter()
    model.fit(dataset.prefetch(2), steps_per_epoch=total, epochs=1, verbose=0, callbacks=[Stamp()])
    stamps = [start] + stamps
    intervals = [b - a for a, b in zip(stamps[:-1], stamps[1:])][spec["warmup"]:]
    out = _summary(intervals, spec["batch"] * per_run)
    out["padding_fraction"] = 1.0 - sum(real) / sum(slots)
    out["tokens_per_s"] = sum(real) / sum(intervals)
    return out


def train_memory(spec):
    """Peak resident memory (`ru_maxrss`, this process alone) of fine-tuning our classifier of a named size on
    synthetic batches: `precision`, `lora_rank` (`EncoderTask.enable_lora`) and `accumulation` (the optimizer's
    gradient accumulation: that many batches of `batch` per update). Also seq/s of the timed updates."""
    import resource

    import keras
    import numpy as np
    import tensorflow as tf
    from benchmarks import models
    _set_precision(spec)
    model, _ = models.build("bert_keras", spec["config"])
    total = sum(int(np.prod(v.shape)) for v in model.weights)
    if spec.get("lora_rank"):
        model.enable_lora(spec["lora_rank"])
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    model.compile(gradient_accumulation_steps=spec.get("accumulation"))
    features, labels = models.synthetic_batch(spec["batch"], spec["seq"])
    x, y = {k: tf.constant(v) for k, v in features.items()}, tf.constant(labels)
    micro = spec.get("accumulation") or 1

    def update():
        for _ in range(micro):
            model.train_on_batch(x, y)

    times = _time(update, 1, spec.get("steps", 2))
    out = _summary(times, spec["batch"] * micro)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out.update(peak_rss_mb=rss / 1024, trainable_share=trainable / total, parameters=total,
               precision=keras.mixed_precision.global_policy().name)
    return out


def train_real(spec):
    from benchmarks import real_text
    return real_text.train_real(spec)


def infer_real(spec):
    from benchmarks import real_text
    return real_text.infer_real(spec)


def explain(spec):
    """Integrated gradients of single real reviews, one `integrated_gradients(model, [text], steps)` call each (what
    a user calls), after `warmup_examples` untimed ones: MiniLM (real weights, float32) with the fixed head of
    `benchmarks.timing.explain_head`; the Captum peer is `benchmarks.peer_hf_torch`'s `explain`. Times each call
    (tokenization, the prediction that picks the target, f(x), f(baseline) and the path's gradients included);
    seq/s = reviews/s, ms_median = ms per review; the median completeness error of the explanations too."""
    import numpy as np
    from bert_keras import BertClassifier
    from bert_keras.explain import integrated_gradients
    from benchmarks.timing import explain_head, explain_texts

    warm, texts = explain_texts(spec)
    model = BertClassifier.from_pretrained(spec["checkpoint"], num_classes=2, seq_length=spec.get("seq", 128),
                                           precision=spec.get("precision", "float32"))
    kernel, bias = explain_head(model.get_layer("logits").kernel.shape[0])
    model.get_layer("logits").kernel.assign(kernel)
    model.get_layer("logits").bias.assign(bias)
    steps = spec["steps"]
    errors, tokens = [], []

    def one(text):
        [e] = integrated_gradients(model, [text], steps=steps)
        errors.append(e.completeness_error)
        tokens.append(len(e.tokens))

    times = _time_each(one, warm + texts, len(warm))
    errors, tokens = errors[len(warm):], tokens[len(warm):]
    return {**_summary(times, 1), "ms_per_review": float(1e3 * np.median(times)), "steps": steps,
            "examples": len(texts), "completeness_error": float(np.median(errors)),
            "mean_tokens": float(np.mean(tokens)), "ms_each": [float(1e3 * t) for t in times]}


KINDS = {"matmul": matmul_ceiling, "train": train, "infer": infer, "serve": serve, "tflite": tflite,
         "tokenize": tokenize, "pretrain": pretrain, "train_real": train_real, "infer_real": infer_real,
         "train_memory": train_memory, "explain": explain}


def main(argv):
    spec = json.loads(argv[1])
    kind = spec["kind"]
    if kind not in KINDS:
        raise SystemExit(f"Unknown measurement kind {kind!r}; use one of {sorted(KINDS)}.")
    from bert_keras.precision import cpu_bf16_flags
    record = {"spec": spec, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "cpu_bf16_flags": cpu_bf16_flags(),
              **KINDS[kind](spec)}
    print("RESULT " + json.dumps(record))


if __name__ == "__main__":
    main(sys.argv)
