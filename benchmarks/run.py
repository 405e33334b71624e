"""Side-by-side speed of bert_keras and its peers, all on this machine in one run: `make bench`.

    python -m benchmarks.run [--quick] [--peers] [--out runs/bench] [--runs 5] [--parts speed,real_text,...]

Measures, each figure the median of `--runs` timed repetitions after warm-up (min and max kept):
- the ceiling: fp32 GFLOP/s of a 4096 x 4096 matmul (TensorFlow with oneDNN, and numpy; the higher is used),
  measured again at the end: a change of more than 15% is flagged in the table and the record (`warning`);
- training (the compiled `model.fit` step via `train_on_batch`, AdamW, synthetic ids) and inference (batch 32) of our `BertClassifier` vs keras-hub's
  `BertBackbone` + `BertTextClassifier` built from the same config: `small` (4 x 512, seq 128, batch 32) and,
  outside `--quick`, `base` (12 x 768, seq 128, batch 8); keras-hub at each of its settings (TensorFlow's
  default, XLA, oneDNN, both; `--quick`: the two with oneDNN, its best here), ours at its defaults (oneDNN,
  the fused AdamW of `bert_keras.optimizers`; keras-hub trains with Keras's AdamW). Ours and keras-hub's
  oneDNN settings run in one process, a step of each in turn, so drifts of the shared machine hit all
  alike. seq/s and MFU = model FLOPs/s / ceiling, with
  FLOPs per sequence = 6 x non-embedding params x seq + 12 x layers x seq^2 x hidden when training
  (a third of that for inference), see `benchmarks.models.flops_per_sequence`;
- serving: our exported string-in SavedModel (small), batch-1 p50/p99 over real one-sentence reviews and
  batch-64 throughput, next to the same model exported with `pad_to_seq_length` (every request padded to 128);
- tokenize + pack to 128 at batch 1024 (8 batches a run, the three in turn): ours vs keras-hub's tokenizer +
  packer vs Hugging Face `tokenizers`;
- TFLite string-in model, batch-1 latency, float32 vs int8 (dynamic range);
- pretraining steps on BBC News pairs, rows padded to 128 vs to their length bucket, and the padding fraction;
- precision: the training, inference and real-text rows in float32 and, on CPUs with native bfloat16
  (`bert_keras.precision.cpu_bf16_flags`), again in mixed_bfloat16: ours and keras-hub under Keras's
  mixed_bfloat16 policy, transformers with `torch.autocast("cpu", bfloat16)`, Model Garden under tf-keras's
  policy; every record carries `precision` and `cpu_bf16`;
- peak memory (peak RSS of a process each) of `base` fine-tuning at seq 128: float32 batch 32, mixed_bfloat16,
  LoRA rank 8, accumulation 4 x 8;
- real text from raw strings (`train_real`: one epoch of `fit` on 2,048 Rotten Tomatoes reviews at batch 32;
  `infer_real`: `predict` of 4,096 at batch 64; all-MiniLM-L6-v2's architecture, sequence length 128,
  tokenization included, one timed pass after a warm-up on 256): our `BertClassifier` with its preprocessor vs
  keras-hub's `BertTextClassifier` with its preprocessor (and, with `--peers`, transformers on PyTorch with
  `DataCollatorWithPadding` and length-grouped batches); seq/s, real tokens/s and the padding fraction. Ours and
  transformers alternate in 3 rounds (a process each) and report the median round; keras-hub runs once.
- explanations: integrated gradients of single real reviews at 64 steps (`explain_ig`, 36 reviews, one call a
  review from the raw string, after one warm-up review; MiniLM's real weights with a fixed head, float32): ours
  (`bert_keras.explain.integrated_gradients`) vs, with `--peers`, Captum's `LayerIntegratedGradients` on
  transformers' BertModel (PyTorch, same weights, steps and reviews), alternating in 3 rounds of 12 reviews;
  ms per review (median) and reviews/s.
With `--peers`, also Hugging Face transformers on PyTorch (`.venv-ref`) and TF Model Garden's BertEncoderV2 on
TensorFlow 2.20 (`.venv-mg`), each in its own venv, see `make bench-peers`.

Writes `<out>/results.json` (a list of records: name, impl, config, mode, seq_per_s, mfu, ...), prints a table
and draws `<out>/results.png`. Every measurement runs in its own process (`benchmarks.measure`).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# keras-hub at each of its settings (oneDNN on/off, XLA on/off); ours at its defaults (oneDNN on, set by `import bert_keras`).
KERAS_HUB_SETTINGS = {
    "default": {"onednn": "0", "jit": False},
    "jit_compile": {"onednn": "0", "jit": True},
    "onednn": {"onednn": "1", "jit": False},
    "onednn+jit_compile": {"onednn": "1", "jit": True},
}
OURS_SETTING = {"onednn": "1", "jit": False}
# The parts of a run (`--parts`): synthetic training and inference, real text, peak memory, explanations,
# serving, tokenizers, TFLite, pretraining. The matmul ceiling is measured at the start and end of every run.
PARTS = ("speed", "real_text", "memory", "explain", "serve", "tokenize", "tflite", "pretrain")
# What each profile measures: encoder sizes with their batch, peer settings, and the sizes of the other parts.
PROFILES = {
    "full": dict(configs={"small": 32, "base": 8}, seq=128, keras_hub=tuple(KERAS_HUB_SETTINGS), serve="small",
                 requests=300, tflite_requests=200, pretrain="small", documents=1000, tokenize_batch=1024,
                 tflite=("none", "int8_dynamic"), real=dict(train=2048, infer=4096, seq=128, rounds=3,
                                                            keras_hub=("onednn", "onednn+jit_compile")),
                 memory=dict(config="base", seq=128, steps=2), explain=dict(examples=36, steps=64, rounds=3)),
    "quick": dict(configs={"small": 32}, seq=128, keras_hub=("onednn", "onednn+jit_compile"), serve="small",
                  requests=100,
                  tflite_requests=60, pretrain="mini", documents=300, tokenize_batch=1024,
                  tflite=("none", "int8_dynamic"), real=dict(train=2048, infer=4096, seq=128, rounds=3,
                                                             keras_hub=("onednn",)),
                  memory=dict(config="base", seq=128, steps=1), explain=dict(examples=36, steps=64, rounds=3)),
    # The test suite's check that everything runs: tiny sizes, in this process, one timed run.
    "smoke": dict(configs={"tiny": 4}, seq=32, keras_hub=("onednn",), serve="tiny", requests=6, tflite_requests=4,
                  pretrain="tiny", documents=40, tokenize_batch=64, tflite=("none",),
                  real=dict(train=64, infer=128, seq=32, keras_hub=("onednn",), precisions=("float32",)),
                  memory=dict(config="tiny", seq=32, steps=1), precisions=("float32", "mixed_bfloat16"),
                  explain=dict(examples=2, steps=8)),
}
# The fine-tuning memory table: (setting, precision, batch, LoRA rank, accumulation steps); each trains on the
# same 32 sequences per update.
MEMORY_VARIANTS = (("float32, batch 32", "float32", 32, None, None),
                   ("mixed_bfloat16, batch 32", "mixed_bfloat16", 32, None, None),
                   ("LoRA rank 8, batch 32", "float32", 32, 8, None),
                   ("accumulation 4 x 8", "float32", 8, None, 4))


IN_PROCESS = False  # --smoke: run the measurements in this process (fast; the oneDNN setting cannot vary)


def measure(spec, onednn="1", python=None, module="benchmarks.measure", timeout=1800):
    """Runs one measurement in a fresh process; returns its record (or {"error": ...})."""
    if IN_PROCESS and python is None:
        import keras
        from benchmarks import measure as worker
        try:
            return worker.KINDS[spec["kind"]](spec)
        finally:  # a measurement under another dtype policy must not leak into the calling process
            keras.mixed_precision.set_global_policy("float32")
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT,
               CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", ""))
    start = time.time()
    proc = subprocess.run([python or sys.executable, "-m", module, json.dumps(spec)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        print(f"  ! {spec} failed (exit {proc.returncode}): {' | '.join(tail)}", flush=True)
        return {"error": " | ".join(tail)}
    record = json.loads(lines[-1][len("RESULT "):])
    record["wall_s"] = round(time.time() - start, 1)
    return record


def _record(name, impl, config, mode, result, setting="", mfu_flops=None, ceiling=None, **extra):
    rec = {"name": name, "impl": impl, "config": config, "mode": mode, "setting": setting}
    if "error" in result:
        return {**rec, "seq_per_s": None, "error": result["error"]}
    if "skipped" in result:
        return {**rec, "seq_per_s": None, "skipped": result["skipped"]}
    rec["seq_per_s"] = result["seq_per_s"]
    for key in ("seq_per_s_min", "seq_per_s_max", "ms_median", "ms_min", "ms_max", "runs"):
        if key in result:
            rec[key] = result[key]
    if mfu_flops and ceiling:
        rec["mfu"] = result["seq_per_s"] * mfu_flops / (ceiling * 1e9)
    rec.update(extra)
    return rec


def run_all(profile, runs, peers, parts=None):
    from benchmarks import models

    from bert_keras.precision import cpu_bf16_flags

    p = PROFILES[profile]
    seq = p["seq"]
    parts = set(PARTS if parts is None else parts)
    records = []
    warmup = 1 if profile == "smoke" else 2
    cpu_bf16 = bool(cpu_bf16_flags())
    # bfloat16 rows where the CPU computes it natively (emulated bf16 is slower than float32: nobody's best).
    precisions = p.get("precisions") or (("float32", "mixed_bfloat16") if cpu_bf16 else ("float32",))

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    log("matmul ceiling")
    n = 256 if profile == "smoke" else 4096
    ceiling = measure({"kind": "matmul", "n": n, "warmup": warmup, "runs": runs})
    gflops = ceiling["gflops"]
    ceiling_record = {"name": f"fp32 matmul {n}", "impl": "hardware", "config": "-", "mode": "ceiling",
                      "setting": "", "seq_per_s": None, "gflops": gflops, "gflops_tensorflow": ceiling["tensorflow"],
                      "gflops_numpy": ceiling["numpy"]}
    records.append(ceiling_record)
    log(f"  ceiling {gflops:.1f} GFLOP/s (TensorFlow+oneDNN {ceiling['tensorflow']:.1f}, "
        f"numpy {ceiling['numpy']:.1f})")

    for config, batch in p["configs"].items() if "speed" in parts else ():
        for mode in ("train", "infer"):
            flops = models.flops_per_sequence(config, seq, training=mode == "train")
            for precision in precisions:
                base = {"kind": mode, "config": config, "batch": batch, "seq": seq, "warmup": warmup, "runs": runs,
                        "precision": precision}
                tags = {"batch": batch, "seq_length": seq, "precision": precision, "cpu_bf16": cpu_bf16}
                # Ours and keras-hub's oneDNN settings share one process, stepped in turn (A B A B ...), so that
                # they see the same machine; settings with oneDNN off need a process of their own.
                paired = [("bert_keras", "defaults", OURS_SETTING["jit"])] + [
                    ("keras_hub", name, KERAS_HUB_SETTINGS[name]["jit"]) for name in p["keras_hub"]
                    if KERAS_HUB_SETTINGS[name]["onednn"] == "1"]
                log(f"{mode} {config} {precision}: " + ", ".join(f"{impl} {name}" for impl, name, _ in paired)
                    + " (in turn)")
                result = measure({**base, "models": [{"impl": impl, "jit": jit} for impl, _, jit in paired]}, "1")
                for i, (impl, name, _) in enumerate(paired):
                    one = result["models"][i] if "models" in result else result
                    records.append(_record(f"{mode} {config}", impl, config, mode, one, name, flops, gflops,
                                           paired=True, **tags))
                for name in p["keras_hub"]:
                    s = KERAS_HUB_SETTINGS[name]
                    if s["onednn"] == "1":
                        continue
                    log(f"{mode} {config} {precision}: keras_hub {name}")
                    result = measure({**base, "impl": "keras_hub", "jit": s["jit"]}, s["onednn"])
                    records.append(_record(f"{mode} {config}", "keras_hub", config, mode, result, name, flops,
                                           gflops, **tags))
                if peers:
                    records += peer_records(mode, config, batch, seq, warmup, runs, flops, gflops, log, precision,
                                            cpu_bf16)

    if "real_text" in parts:
        records += real_text_records(p["real"], peers, log, p["real"].get("precisions", precisions), cpu_bf16)
    if "memory" in parts:
        records += memory_records(p["memory"], log, cpu_bf16)
    if "explain" in parts:
        records += explain_records(p["explain"], peers, log)

    if "serve" in parts:
        config = p["serve"]
        log(f"serve {config} (string-in SavedModel)")
        compare = profile != "smoke"  # the padded export is the same code with one switch; the smoke run skips it
        result = measure({"kind": "serve", "config": config, "seq": seq, "requests": p["requests"],
                          "warmup": min(10, p["requests"] // 2), "runs": runs, "compare_padded": compare})
        if "error" not in result:
            b1 = result["batch1"]
            records.append(_record(f"serve {config}, string-in, batch 1", "bert_keras", config, "serve", b1,
                                   "trimmed to the longest row", p50_ms=b1["p50_ms"], p99_ms=b1["p99_ms"],
                                   requests=b1["requests"], mean_tokens=result["mean_tokens_per_request"],
                                   max_abs_diff_vs_padded=result.get("max_abs_diff_vs_padded")))
        if "error" not in result and compare:
            pad = result["batch1_padded"]
            records.append(_record(f"serve {config}, string-in padded to {seq}, batch 1", "bert_keras", config, "serve",
                                   pad, "pad_to_seq_length (before)", p50_ms=pad["p50_ms"], p99_ms=pad["p99_ms"],
                                   requests=pad["requests"]))
        if "error" not in result:
            records.append(_record(f"serve {config}, string-in, batch 64", "bert_keras", config, "serve",
                                   result["batch64"], "trimmed to the longest row", batch=64))
        else:
            records.append(_record(f"serve {config}, string-in, batch 1", "bert_keras", config, "serve", result))

    if "tokenize" in parts:
        log("tokenize: bert_keras, keras_hub, hf (in turn)")
        result = measure({"kind": "tokenize", "impls": ["bert_keras", "keras_hub", "hf"],
                          "batch": p["tokenize_batch"], "seq": seq, "warmup": warmup, "runs": max(runs, 10),
                          "repeats": 1 if profile == "smoke" else 8})
        for impl in ("bert_keras", "keras_hub", "hf"):
            one = result.get("impls", {}).get(impl) or result.get(impl) or result
            records.append(_record(f"tokenize + pack {seq}, batch {p['tokenize_batch']}",
                                   "hf_tokenizers" if impl == "hf" else impl, "-", "tokenize", one,
                                   batch=p["tokenize_batch"], paired="impls" in result and impl in result["impls"]))

    if "tflite" in parts:
        config = p["serve"]
        log(f"tflite {config}: {', '.join(p['tflite'])} (conversion not timed)")
        result = measure({"kind": "tflite", "config": config, "seq": seq, "quantize": list(p["tflite"]),
                          "requests": p["tflite_requests"], "warmup": min(5, p["tflite_requests"] // 2)})
        for quantize in p["tflite"]:
            r = result.get(quantize, result)
            name = "float32" if quantize == "none" else quantize
            extra = {} if "error" in r else {"p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "size_mb": r["size_mb"]}
            records.append(_record(f"tflite {config} {name}, string-in, batch 1", "bert_keras", config, "serve", r,
                                   name, **extra))

    if "pretrain" in parts:
        config = p["pretrain"]
        for bucketed in (False, True):
            setting = "length buckets" if bucketed else f"padded to {seq}"
            log(f"pretrain {config}: {setting}")
            result = measure({"kind": "pretrain", "config": config, "batch": 32, "seq": seq, "bucketed": bucketed,
                              "steps_per_run": 4, "warmup": warmup, "runs": runs, "documents": p["documents"]})
            extra = {} if "error" in result else {"padding_fraction": result["padding_fraction"],
                                                  "tokens_per_s": result["tokens_per_s"]}
            records.append(_record(f"pretrain {config} MLM+NSP", "bert_keras", config, "train", result, setting,
                                   **extra))

    log("matmul ceiling again (a machine loaded by another job shows here)")
    again = measure({"kind": "matmul", "n": n, "warmup": warmup, "runs": runs})
    if "gflops" in again:
        ceiling_record["gflops_end"] = again["gflops"]
        warning = ceiling_warning(gflops, again["gflops"])
        log(f"  ceiling {again['gflops']:.1f} GFLOP/s at the end" + (f"\n  ! {warning}" if warning else ""))
        if warning:
            ceiling_record["warning"] = warning
    return records


CEILING_DRIFT_WARN = 0.15  # this VM drifts by up to ~20% over an afternoon; a second job on 2 cores halves it


def ceiling_drift(start, end):
    """The change of the matmul ceiling between a run's start and end, as a fraction of the higher."""
    return abs(end - start) / max(start, end)


def ceiling_warning(start, end):
    """A warning (str) when the ceiling moved by more than `CEILING_DRIFT_WARN` during the run, else None.

    >>> ceiling_warning(242.3, 465.0)[:60]
    'the float32 ceiling moved from 242.3 to 465.0 GFLOP/s (48%) '
    >>> ceiling_warning(460.0, 470.0) is None
    True
    """
    drift = ceiling_drift(start, end)
    if drift <= CEILING_DRIFT_WARN:
        return None
    return (f"the float32 ceiling moved from {start:.1f} to {end:.1f} GFLOP/s ({drift:.0%}) during the run: "
            "another job shared the machine, or its speed drifted; compare only figures taken in one process "
            "(the in-turn rows), MFU uses the start's figure, and rerun the rows measured while it was loaded.")


# Peers in virtual environments of their own (`make bench-peers`): venv, module, settings (with oneDNN on).
PEERS = {
    "hf_torch": (".venv-ref", "benchmarks.peer_hf_torch", ("eager",)),
    "model_garden": (".venv-mg", "benchmarks.peer_model_garden", ("xla", "xla_cls")),
}


# The real-text rows: batch per mode (issue-fixed sizes: fit at 32, predict at 64).
REAL_BATCH = {"train_real": 32, "infer_real": 64}


def memory_records(settings, log, cpu_bf16):
    """Peak resident memory of fine-tuning (`benchmarks.measure.train_memory`, a process each): float32,
    mixed_bfloat16, LoRA rank 8 and accumulation 4 x 8, every one updating on 32 sequences."""
    out = []
    for setting, precision, batch, lora_rank, accumulation in MEMORY_VARIANTS:
        log(f"memory {settings['config']}: {setting}")
        spec = {"kind": "train_memory", "config": settings["config"], "seq": settings["seq"], "batch": batch,
                "precision": precision, "lora_rank": lora_rank, "accumulation": accumulation,
                "steps": settings["steps"]}
        result = measure(spec, "1")
        extra = {} if "error" in result else {"peak_rss_mb": result["peak_rss_mb"],
                                              "trainable_share": result["trainable_share"]}
        out.append(_record(f"memory {settings['config']} fine-tuning", "bert_keras", settings["config"], "memory",
                           result, setting, batch=batch, seq_length=settings["seq"], precision=precision,
                           cpu_bf16=cpu_bf16, lora_rank=lora_rank, accumulation=accumulation, **extra))
    return out


def reviews_file(n):
    """A JSON file ({"texts", "labels"}) of the first `n` Rotten Tomatoes reviews in a seeded shuffle (seed 0),
    which the workers in every venv read: all sides of a row see the same texts."""
    import random
    import tempfile

    from bert_keras.data import real_corpora

    rows = list(real_corpora.rotten_tomatoes())
    random.Random(0).shuffle(rows)
    path = os.path.join(tempfile.mkdtemp(prefix="bench-texts-"), "reviews.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"texts": [t for t, _ in rows[:n]], "labels": [int(y == "rotten") for _, y in rows[:n]]}, f)
    return path


def real_text_records(settings, peers, log, precisions=("float32",), cpu_bf16=False):
    """Fine-tuning (one epoch) and predict on real Rotten Tomatoes reviews from raw strings, all-MiniLM-L6-v2's
    architecture: ours, keras-hub's task model with its preprocessor, and (with `peers`) transformers on PyTorch
    with dynamic padding and length grouping (`benchmarks.real_text`, `benchmarks.peer_hf_torch`).

    Ours and transformers, whose figures are close, alternate in `settings["rounds"]` rounds (a process each,
    ours then transformers), so that the VM's drift (+-20% over minutes on shared cores) falls on both alike;
    their records carry the median round's figures, the other rounds' seq/s (`seq_per_s_rounds`) and the
    min/max over rounds. keras-hub, several times slower, runs once at each of its settings, in the first round."""
    from bert_keras.data import real_corpora

    texts_file = reviews_file(max(settings["train"], settings["infer"]))
    checkpoint = real_corpora.minilm_dir()
    rounds = settings.get("rounds", 1)
    python = os.path.join(ROOT, ".venv-ref", "bin", "python")
    out = []
    for mode in ("train_real", "infer_real"):
        examples = settings["train" if mode == "train_real" else "infer"]
        name = f"{mode} minilm, {examples} reviews"
        for precision in precisions:
            base = {"kind": mode, "examples": examples, "batch": REAL_BATCH[mode], "seq": settings["seq"],
                    "runs": 1, "texts_file": texts_file, "checkpoint": checkpoint,
                    "vocab": os.path.join(checkpoint, "vocab.txt"), "warmup_examples": min(256, examples // 2),
                    "precision": precision}
            sides = [("bert_keras", "defaults", dict(spec={**base, "impl": "bert_keras",
                                                           "jit": OURS_SETTING["jit"]},
                                                     onednn=OURS_SETTING["onednn"]))]
            if peers and os.path.exists(python):
                sides.append(("hf_torch", "DataCollatorWithPadding + length groups",
                              dict(spec=base, python=python, module="benchmarks.peer_hf_torch")))
            results = {impl: [] for impl, *_ in sides}
            for r in range(rounds):
                for impl, setting, how in sides:
                    log(f"{mode} {precision}: {impl} {setting} (round {r + 1}/{rounds})")
                    results[impl].append(measure(how["spec"], how.get("onednn", "1"), python=how.get("python"),
                                                 module=how.get("module", "benchmarks.measure"), timeout=3600))
                if r == 0:
                    for setting in settings["keras_hub"]:
                        s = KERAS_HUB_SETTINGS[setting]
                        log(f"{mode} {precision}: keras_hub {setting}")
                        result = measure({**base, "impl": "keras_hub", "jit": s["jit"]}, s["onednn"], timeout=3600)
                        out.append(_real_record(name, "keras_hub", mode, result, setting, base, cpu_bf16))
            for impl, setting, _ in sides:
                out.append(_real_record(name, impl, mode, median_round(results[impl]), setting, base, cpu_bf16))
    return out


def median_round(parts):
    """One record from a measurement repeated in rounds: the median round's (by seq/s, the lower middle of an
    even count), with every round's seq/s and the min/max over rounds; the first failure if any round failed."""
    failed = next((p for p in parts if "error" in p or "skipped" in p), None)
    if failed is not None:
        return failed
    speeds = [p["seq_per_s"] for p in parts]
    middle = sorted(range(len(parts)), key=speeds.__getitem__)[(len(parts) - 1) // 2]
    return {**parts[middle], "seq_per_s_min": min(speeds), "seq_per_s_max": max(speeds),
            "seq_per_s_rounds": speeds, "runs": len(parts)}


def explain_records(settings, peers, log):
    """Integrated gradients of single real reviews (`examples` of them, `steps` Gauss-Legendre points, after one
    warm-up review), one call per review from the raw string: ours (`bert_keras.explain.integrated_gradients`,
    `benchmarks.measure.explain`) and, with `peers`, Captum's `LayerIntegratedGradients` on transformers' BertModel
    in `.venv-ref` (`benchmarks.peer_hf_torch.explain`); MiniLM's real weights with the same fixed head, float32.
    The reviews are cut into `rounds` slices and the implementations alternate slice by slice (ours, Captum, ours,
    ...), each on the same reviews, so that a VM's drifting speed (+-25% over minutes on shared cores) falls on
    both alike. seq/s = reviews/s; ms_per_review the median over all reviews; `ms_per_round` each slice's median."""
    import numpy as np

    from bert_keras.data import real_corpora

    examples, steps, rounds = settings["examples"], settings["steps"], settings.get("rounds", 1)
    checkpoint = real_corpora.minilm_dir()
    per_round = -(-examples // rounds)
    spec = {"kind": "explain", "examples": per_round, "steps": steps, "seq": 128, "warmup_examples": 1,
            "texts_file": reviews_file(1 + examples), "checkpoint": checkpoint, "precision": "float32"}
    name = f"integrated gradients minilm, {steps} steps, 1 review a call"
    sides = [("bert_keras", "integrated_gradients", spec, {})]
    python = os.path.join(ROOT, ".venv-ref", "bin", "python")
    if peers and os.path.exists(python):
        # internal_batch_size=None: all the steps in one batch, Captum's fastest setting on CPU.
        sides.append(("captum", "internal_batch_size=None", {**spec, "internal_batch_size": None},
                      dict(python=python, module="benchmarks.peer_hf_torch")))
    results = {impl: [] for impl, *_ in sides}
    for r in range(rounds):
        for impl, setting, s, where in sides:
            log(f"explain_ig: {impl} (round {r + 1}/{rounds}: {per_round} reviews, {steps} steps)")
            results[impl].append(measure({**s, "offset": r * per_round}, "1", timeout=3600, **where))
    out = []
    for impl, setting, s, where in sides:
        parts = results[impl]
        failed = next((p for p in parts if "error" in p or "skipped" in p), None)
        if failed is not None:
            out.append(_record(name, impl, "minilm", "explain_ig", failed, setting, steps=steps, examples=examples,
                               precision="float32"))
            continue
        ms = np.concatenate([p["ms_each"] for p in parts])
        result = {**parts[0], "seq_per_s": float(1e3 / np.median(ms)), "seq_per_s_min": float(1e3 / ms.max()),
                  "seq_per_s_max": float(1e3 / ms.min()), "ms_median": float(np.median(ms)),
                  "ms_min": float(ms.min()), "ms_max": float(ms.max()), "runs": int(ms.size)}
        tokens = float(np.mean([p["mean_tokens"] for p in parts]))
        out.append(_record(name, impl, "minilm", "explain_ig", result, setting, steps=steps, examples=int(ms.size),
                           precision="float32", ms_per_review=float(np.median(ms)),
                           ms_per_round=[p["ms_per_review"] for p in parts], rounds=rounds,
                           completeness_error=float(np.median([p["completeness_error"] for p in parts])),
                           mean_tokens_per_review=tokens))
    return out


def _real_record(name, impl, mode, result, setting, spec, cpu_bf16):
    extra = {} if "error" in result or "skipped" in result else {
        "real_tokens_per_s": result["real_tokens_per_s"], "padding_fraction": result["padding_fraction"]}
    if "seq_per_s_rounds" in result:
        extra["seq_per_s_rounds"] = result["seq_per_s_rounds"]
    return _record(name, impl, "minilm", mode, result, setting, batch=spec["batch"], seq_length=spec["seq"],
                   examples=spec["examples"], precision=spec["precision"], cpu_bf16=cpu_bf16, **extra)


def peer_records(mode, config, batch, seq, warmup, runs, flops, gflops, log, precision="float32", cpu_bf16=False):
    """Peers that live in their own virtual environments (`make bench-peers`), under `precision` (PyTorch:
    `torch.autocast` bfloat16; Model Garden: tf-keras's mixed_bfloat16 policy)."""
    out = []
    for impl, (venv, module, settings) in PEERS.items():
        python = os.path.join(ROOT, venv, "bin", "python")
        if not os.path.exists(python):
            log(f"  (no {venv}: run `make bench-peers` for {impl})")
            continue
        for setting in settings:
            log(f"{mode} {config} {precision}: {impl} {setting}")
            result = measure({"kind": mode, "config": config, "batch": batch, "seq": seq, "warmup": warmup,
                              "runs": runs, "setting": setting, "precision": precision}, python=python,
                             module=module)
            out.append(_record(f"{mode} {config}", impl, config, mode, result, setting, flops, gflops,
                               batch=batch, seq_length=seq, precision=precision, cpu_bf16=cpu_bf16))
    return out


def best_peer(records, mode, config):
    peers = [r for r in records if r["mode"] == mode and r["config"] == config and r["impl"] != "bert_keras"
             and r.get("seq_per_s")]
    return max(peers, key=lambda r: r["seq_per_s"], default=None)


PRECISION_SHORT = {"float32": "fp32", "mixed_bfloat16": "bf16", "mixed_float16": "fp16"}


def table(records):
    lines = [f"{'mode':10s} {'config':6s} {'impl':14s} {'setting':30s} {'prec':4s} {'seq/s':>10s} {'(min-max)':>19s} "
             f"{'MFU':>5s} {'vs best peer':>12s}  notes"]
    for r in records:
        if r["mode"] == "ceiling":
            lines.append(f"{'ceiling':10s} {'-':6s} {'hardware':14s} {r['name']:30s} "
                         f"{r['gflops']:8.1f} GFLOP/s (TensorFlow+oneDNN {r['gflops_tensorflow']:.1f}, "
                         f"numpy {r['gflops_numpy']:.1f})"
                         + (f"; at the end {r['gflops_end']:.1f}" if r.get("gflops_end") else "")
                         + (f"\n  ! {r['warning']}" if r.get("warning") else ""))
            continue
        precision = PRECISION_SHORT.get(r.get("precision"), "")
        if not r.get("seq_per_s"):
            lines.append(f"{r['mode']:10s} {r['config']:6s} {r['impl']:14s} {r['setting'][:30]:30s} {precision:4s} "
                         f"{'-':>10s}  {r.get('skipped') or 'failed: ' + str(r.get('error'))[:80]}")
            continue
        span = f"({r['seq_per_s_min']:.3g}-{r['seq_per_s_max']:.3g})" if "seq_per_s_min" in r else ""
        mfu = f"{100 * r['mfu']:4.0f}%" if r.get("mfu") is not None else ""
        ratio = ""
        if r["impl"] == "bert_keras" and r["mode"] in ("train", "infer", "tokenize", "train_real", "infer_real",
                                                       "explain_ig") \
                and not r["name"].startswith("pretrain"):
            peer = best_peer(records, r["mode"], r["config"])
            if peer:
                ratio = f"{r['seq_per_s'] / peer['seq_per_s']:.2f}x"
        notes = []
        if "p50_ms" in r:
            notes.append(f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")
        if "size_mb" in r:
            notes.append(f"{r['size_mb']:.1f} MB")
        if "padding_fraction" in r:
            tokens = r.get("tokens_per_s", r.get("real_tokens_per_s"))
            notes.append(f"padding {100 * r['padding_fraction']:.1f}%, {tokens:.0f} real tokens/s")
        if "peak_rss_mb" in r:
            notes.append(f"peak RSS {r['peak_rss_mb']:.0f} MB, {100 * r['trainable_share']:.2f}% of weights train")
        if "ms_per_review" in r:
            notes.append(f"{r['ms_per_review']:.1f} ms/review at {r['steps']} steps ({r['examples']} reviews, "
                         f"{r['mean_tokens_per_review']:.1f} tokens each), median completeness error "
                         f"{r['completeness_error']:.1e}")
        if "mean_tokens" in r:
            notes.append(f"{r['mean_tokens']:.1f} tokens/request")
        if r.get("max_abs_diff_vs_padded") is not None:
            notes.append(f"outputs within {r['max_abs_diff_vs_padded']:.1e} of padded")
        lines.append(f"{r['mode']:10s} {r['config']:6s} {r['impl']:14s} {r['setting'][:30]:30s} {precision:4s} "
                     f"{r['seq_per_s']:10.4g} {span:>19s} {mfu:>5s} {ratio:>12s}  {'; '.join(notes)}")
    return "\n".join(lines)


def plot(records, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = []
    for r in records:
        key = (r["mode"], r["config"])
        if r.get("seq_per_s") and r["mode"] in ("train", "infer", "tokenize", "train_real", "infer_real",
                                                "explain_ig") \
                and key not in groups \
                and not r["name"].startswith("pretrain"):
            groups.append(key)
    fig, axes = plt.subplots(len(groups), 1, figsize=(9, 1.6 + 0.45 * 6 * len(groups)), squeeze=False)
    for ax, (mode, config) in zip(axes[:, 0], groups):
        rows = [r for r in records if (r["mode"], r["config"]) == (mode, config) and r.get("seq_per_s")
                and not r["name"].startswith("pretrain")]
        labels = [f"{r['impl']} {r['setting']} {PRECISION_SHORT.get(r.get('precision'), '')}".strip() for r in rows]
        values = [r["seq_per_s"] for r in rows]
        colors = ["tab:red" if r["impl"] == "bert_keras" else "tab:gray" for r in rows]
        ax.barh(labels, values, color=colors)
        for i, r in enumerate(rows):
            mfu = f"  {100 * r['mfu']:.0f}% MFU" if r.get("mfu") is not None else ""
            ax.text(values[i], i, f" {values[i]:.3g}{mfu}", va="center", fontsize=8)
        unit = "reviews explained/s" if mode == "explain_ig" else "sequences/s"
        ax.set_title(f"{mode} {config}: {unit} (median)", fontsize=10)
        ax.invert_yaxis()
        ax.set_xlim(0, max(values) * 1.35)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def machine():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = f"{names[0]} x {len(names)}" if names else cpu
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small config only, fewer peer settings (< 10 min).")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, in one process: checks that every part runs (the test suite uses it).")
    parser.add_argument("--peers", action="store_true", help="also the peers in their own venvs (make bench-peers).")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "bench"))
    parser.add_argument("--runs", type=int, default=5, help="timed repetitions per figure (median reported).")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated parts to measure, of {','.join(PARTS)} (default: all).")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1.")
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        parser.error(f"--parts={args.parts!r}: unknown {unknown or 'empty'}; choose from {','.join(PARTS)}.")
    global IN_PROCESS
    profile = "smoke" if args.smoke else "quick" if args.quick else "full"
    IN_PROCESS = args.smoke
    start = time.time()
    records = run_all(profile, args.runs, args.peers, parts)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(), "profile": profile,
            "runs": args.runs, "parts": parts, "wall_s": round(time.time() - start, 1)}
    os.makedirs(args.out, exist_ok=True)
    for r in records:
        r.setdefault("mfu", None)
    path = os.path.join(args.out, "results.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1)
    os.replace(tmp, path)
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    print(f"\n{meta['date']}, {meta['machine']['cpu']}, medians of {args.runs} runs; wall {meta['wall_s']:.0f} s\n")
    print(table(records))
    plot(records, os.path.join(args.out, "results.png"))
    print(f"\nWrote {path} and results.png")
    return records


if __name__ == "__main__":
    main()
