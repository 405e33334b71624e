"""Diagnosis of `benchmarks.gpu_training`'s gap to keras-hub: our training step with one change patched in.

    KERAS_BACKEND=jax STEPS=30 RUNS=5 python -m benchmarks.gpu_variants IMPL VARIANT CONFIG BATCH

IMPL: bert_keras or keras_hub. VARIANT: `base` (unchanged) or any of these joined by `_`: `bf16softmax` (the
attention scores and softmax in the compute dtype instead of float32), `nodrop` (every dropout rate 0), `nofirst`
(the last block for every position, not for [CLS] only). The patches live in this process only; nothing in the
library changes. Prints one JSON line per measurement (`step_ms` is the median of RUNS runs of STEPS steps).
Results of 2026-12-04 on an H200: docs/gpu_h200_2026-12-04.json.
"""
import json
import os
import statistics
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

from benchmarks import gpu_training  # noqa: E402


def patch(variant):
    """Applies the variant's changes to this process's classes (see the module docstring)."""
    import keras
    gpu_training._packages_without_tensorflow()
    from bert_keras import configs
    if "nodrop" in variant:
        named_config = configs.named_config
        configs.named_config = lambda *a, **k: dict(named_config(*a, **k), dropout=0.0, attention_dropout=0.0)
    if "bf16softmax" in variant:
        from bert_keras.layers import multi_head_self_attention

        class ComputeDtypeOps:
            """`keras.ops` whose casts to float32 go to bfloat16 (the attention module's only float32 casts)."""

            def __getattr__(self, name):
                return getattr(keras.ops, name)

            def cast(self, x, dtype):
                return keras.ops.cast(x, "bfloat16" if dtype == "float32" else dtype)

        multi_head_self_attention.ops = ComputeDtypeOps()
    if "nofirst" in variant:
        from bert_keras.models.bert_encoder import BertEncoder
        BertEncoder.pooled_output_from = lambda self, inputs, word_vectors=None: self.pooler(
            self.run_layers(inputs)[0])


def main(argv):
    impl, variant, config, batch = argv[0], argv[1], argv[2], int(argv[3])
    patch(variant)
    from benchmarks.models import flops_per_sequence
    steps, runs = int(os.environ.get("STEPS", 20)), int(os.environ.get("RUNS", 3))
    for b, times, settings in gpu_training.measure_keras(impl, config, [batch], 128, steps, runs):
        step_s = statistics.median(times)
        print(json.dumps(dict(impl=impl, variant=variant, batch=b, step_ms=round(1000 * step_s, 2),
                              runs=[round(1000 * t, 1) for t in times], seq_per_s=round(b / step_s, 1),
                              model_tflops=round(flops_per_sequence(config, 128, True) * b / step_s / 1e12, 1),
                              first_step_s=settings["first_step_s"], device=settings["device"])), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
