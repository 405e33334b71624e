"""BERT training speed on one GPU: ours vs keras-hub vs transformers, bf16, seq 128: `python -m benchmarks.gpu_training`.

    python -m benchmarks.gpu_training --out runs/gpu [--config base] [--batches 32,256] [--steps 20] [--runs 3]

What it times, each in its own process, one after another on the same GPU:
- `bert_keras`: our `BertEncoder` with `BertClassifier`'s head (the last block for [CLS] only), Keras 3 under
  the `mixed_bfloat16` policy, compiled with XLA (`jit_compile=True`), Keras's AdamW;
- `keras_hub`: keras-hub's `BertBackbone` + `BertTextClassifier` from the same config, same policy, XLA, AdamW;
- `transformers`: `BertForSequenceClassification` on PyTorch, `torch.autocast("cuda", bfloat16)`, fused AdamW,
  SDPA attention, eager and `torch.compile` (both reported; the better is the peer's best setting);
- the ceiling: a 8192 x 8192 x 8192 bf16 matmul (PyTorch), next to the datasheet's dense bf16 peak.
Each training figure is the median of `--runs` timed runs of `--steps` `train_on_batch` steps (synthetic ids, every
row full length, as `benchmarks.models.synthetic_batch`) after warm-up; MFU = model FLOPs/s (`benchmarks.models.
flops_per_sequence`, training) over the peak.

Why Keras runs on its JAX backend here: the lent GPU machines have no TensorFlow and no package registry, and
TensorFlow's GPU wheel with its CUDA libraries (over 1 GB) cannot be carried there (64 MiB per call). Keras 3 runs
the same model code on JAX, whose XLA GPU compiler is the one TensorFlow's `jit_compile=True` uses. Our layers use
only `keras.ops`, so this times our model definition on a GPU; it does not time TensorFlow's runtime. Our package's
`__init__` imports TensorFlow (tokenizer, checkpoints), so the encoder's modules are loaded on their own
(`_packages_without_tensorflow`).

Writes `<out>/results.json` (one record per measurement, written after each, atomically) and prints them.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import types

import numpy as np

from benchmarks.timing import hf_bert_config, time_steps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASHEET_BF16_TFLOPS = 989.0  # H100 / H200 SXM dense bf16 (NVIDIA's datasheet, without sparsity)
IMPLS = ("bert_keras", "keras_hub", "transformers", "transformers_compile")


def _packages_without_tensorflow():
    """Lets our encoder modules import without `bert_keras/__init__.py` (which imports TensorFlow): the packages
    as empty modules pointing at their folders, so `bert_keras.configs`, `bert_keras.models.bert_encoder` and its
    layers import alone."""
    for name in ("bert_keras", "bert_keras.models", "bert_keras.layers"):
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(ROOT, *name.split("."))]
        sys.modules.setdefault(name, package)


def _write(out, records):
    path = os.path.join(out, "results.json")
    with open(path + ".tmp", "w") as f:
        json.dump(records, f, indent=1)
    os.replace(path + ".tmp", path)


def _timed_runs(step, steps, runs, sync):
    """Seconds per step of each of `runs` timed runs of `steps` calls of `step`, each run ended by `sync`
    (the GPU's queue drained); call after warm-up and a `sync`."""
    def one_run():
        for _ in range(steps):
            step()
        sync()
    return [t / steps for t in time_steps(one_run, 0, runs)]


def _keras_model(impl, config_name):
    """(model, feature-dict -> its inputs): ours as `BertClassifier` builds it (the last block for [CLS] only),
    keras-hub's from `benchmarks.models.build`."""
    import keras
    from benchmarks import models
    if impl == "keras_hub":
        return models.build(impl, config_name)
    from bert_keras.models.bert_encoder import INPUT_NAMES, BertEncoder
    c = models.encoder_config(config_name)
    encoder = BertEncoder(**c)
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}
    pooled = keras.layers.Dropout(c["dropout"])(encoder.pooled_output_from(inputs))
    logits = keras.layers.Dense(2, dtype="float32", kernel_initializer=keras.initializers.TruncatedNormal(
        stddev=c["initializer_range"]))(pooled)
    return keras.Model(inputs, logits), lambda f: f


def _keras_device():
    import keras
    if keras.config.backend() == "jax":
        import jax
        return str(jax.devices()[0])
    return None


def measure_keras(impl, config_name, batches, seq, steps, runs):
    """Yields (batch, s per step of each run, settings) for one Keras model, built and compiled once."""
    import keras
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    from benchmarks.models import synthetic_batch
    model, to_inputs = _keras_model(impl, config_name)
    model.compile(optimizer=keras.optimizers.AdamW(2e-5, weight_decay=0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=[], jit_compile=True)
    for batch in batches:
        features, labels = synthetic_batch(batch, seq)
        x = to_inputs(features)
        start = time.perf_counter()
        loss = model.train_on_batch(x, labels)
        compile_s = time.perf_counter() - start
        for _ in range(3):
            loss = model.train_on_batch(x, labels)
        times = _timed_runs(lambda: model.train_on_batch(x, labels), steps, runs, lambda: None)
        yield batch, times, dict(backend=keras.config.backend(), keras=keras.__version__, device=_keras_device(),
                                 precision="mixed_bfloat16", jit_compile=True, first_step_s=round(compile_s, 1),
                                 last_loss=float(np.ravel(loss)[0]))


def measure_transformers(config_name, batches, seq, steps, runs, compiled):
    """Yields (batch, s per step of each run, settings) for transformers' BERT classifier, built once."""
    import torch
    import transformers
    from benchmarks.models import synthetic_batch
    config = hf_bert_config(config_name)
    device = "cuda" if torch.cuda.is_available() else "cpu"  # cpu: only to try the script without a GPU
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    model = transformers.BertForSequenceClassification(config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01, fused=device == "cuda")
    forward = torch.compile(model) if compiled else model
    for batch in batches:
        features, labels = synthetic_batch(batch, seq)
        inputs = {key: torch.tensor(features[name], dtype=torch.long).to(device) for key, name in (
            ("input_ids", "input_word_ids"), ("attention_mask", "input_mask"), ("token_type_ids", "input_type_ids"))}
        y = torch.tensor(labels, dtype=torch.long).to(device)

        def step():
            with torch.autocast(device, dtype=torch.bfloat16):
                loss = forward(**inputs, labels=y).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return loss

        start = time.perf_counter()
        loss = step()
        sync()
        compile_s = time.perf_counter() - start
        for _ in range(3):
            loss = step()
        times = _timed_runs(step, steps, runs, sync)
        yield batch, times, dict(backend="torch", torch=torch.__version__, transformers=transformers.__version__,
                                 precision="autocast_bfloat16", torch_compile=compiled,
                                 attention=model.config._attn_implementation,
                                 first_step_s=round(compile_s, 1), last_loss=loss.item())


def measure_ceiling(runs=10):
    """bf16 TFLOP/s of an 8192 x 8192 x 8192 matmul on random data (PyTorch), median of `runs` after 3 warm-ups."""
    import torch
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    times = _timed_runs(lambda: a @ b, 10, runs, torch.cuda.synchronize)
    return 2 * 8192 ** 3 / statistics.median(times) / 1e12, torch.cuda.get_device_name()


def _child(args):
    """One measurement in this process; prints its record as the last line of JSON."""
    _packages_without_tensorflow()  # before `benchmarks.models` imports `bert_keras.configs`
    from benchmarks.models import flops_per_sequence
    if args.impl == "ceiling":
        tflops, device = measure_ceiling()
        record = dict(name="matmul_bf16_8192", tflops=round(tflops, 1), device=device)
        print(json.dumps(record), flush=True)
        return
    batches = [int(b) for b in args.batches.split(",")]
    if args.impl in ("bert_keras", "keras_hub"):
        measured = measure_keras(args.impl, args.config, batches, args.seq, args.steps, args.runs)
    else:
        measured = measure_transformers(args.config, batches, args.seq, args.steps, args.runs,
                                        compiled=args.impl == "transformers_compile")
    for batch, times, settings in measured:
        step_s = statistics.median(times)
        flops = flops_per_sequence(args.config, args.seq, training=True) * batch
        record = dict(name="train", impl=args.impl, config=args.config, batch=batch, seq=args.seq,
                      step_ms=round(1000 * step_s, 2), step_ms_runs=[round(1000 * t, 2) for t in times],
                      seq_per_s=round(batch / step_s, 1), model_tflops=round(flops / step_s / 1e12, 1),
                      mfu_datasheet=round(flops / step_s / 1e12 / DATASHEET_BF16_TFLOPS, 4), **settings)
        print(json.dumps(record), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/gpu")
    parser.add_argument("--config", default="base")
    parser.add_argument("--batches", default="32,256", help="batch sizes, comma-separated")
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--impls", default=",".join(("ceiling",) + IMPLS))
    parser.add_argument("--timeout", type=int, default=240, help="seconds per measurement process")
    parser.add_argument("--impl", help=argparse.SUPPRESS)  # set in the child processes
    args = parser.parse_args(argv)
    if args.impl:
        return _child(args)
    os.makedirs(args.out, exist_ok=True)
    records = []
    for impl in args.impls.split(","):
        env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=os.pathsep.join(
            p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
        command = [sys.executable, "-m", "benchmarks.gpu_training", "--impl", impl, "--config", args.config,
                   "--batches", args.batches, "--seq", str(args.seq), "--steps", str(args.steps),
                   "--runs", str(args.runs)]
        start = time.time()
        try:
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout)
            stdout, failure = done.stdout, (f"rc {done.returncode}" if done.returncode else None)
            stderr = done.stderr
        except subprocess.TimeoutExpired as e:
            stdout, failure = e.stdout or "", f"timed out after {args.timeout} s"
            stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
            stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        new = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        if failure:
            new.append(dict(name=impl, error=failure, stderr_tail=stderr[-3000:]))
        for record in new:
            record["process_wall_s"] = round(time.time() - start, 1)
            print(json.dumps(record), flush=True)
        records.extend(new)
        _write(args.out, records)
    ceiling = next((r["tflops"] for r in records if r.get("name") == "matmul_bf16_8192"), None)
    for r in records:
        if ceiling and "model_tflops" in r:
            r["mfu_measured_matmul"] = round(r["model_tflops"] / ceiling, 4)
    _write(args.out, records)


if __name__ == "__main__":
    main()
