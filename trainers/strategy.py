"""The trainers' `--strategy`, precision and compilation flags, and `set_up`: the strategy
(`bert_keras.distribute.build_strategy`), seed, dtype policy and output directory of a run."""

import os

from bert_keras.distribute import STRATEGIES, build_strategy
from bert_keras.precision import PRECISIONS, check_precision, resolve_precision


def define_flags():
    """The distribution and compilation flags every trainer takes (same names and meaning everywhere)."""
    from absl import flags

    flags.DEFINE_enum("strategy", "default", list(STRATEGIES), "tf.distribute strategy.")
    flags.DEFINE_string("tpu", None, "TPU name or grpc:// address for --strategy=tpu.")
    flags.DEFINE_integer("num_cpu_devices", 1, "Split the CPU into this many logical devices (MirroredStrategy on CPU).")
    flags.DEFINE_enum("mixed_precision", "auto", list(PRECISIONS), "Keras dtype policy; auto: mixed_bfloat16 "
                      "where the CPU (avx512_bf16 / amx_bf16) or GPU computes bfloat16 natively, else float32.")
    flags.DEFINE_bool("jit_compile", False, "XLA-compile the train step.")
    flags.DEFINE_integer("steps_per_execution", 1, "Train steps per tf.function call.")


def set_up(cfg):
    """Checks `cfg.mixed_precision`, seeds Keras with `cfg.seed`, builds `cfg.strategy` and sets the global dtype
    policy to what `cfg.mixed_precision` resolves to ("auto": `bert_keras.precision.resolve_precision`).

    Returns:
        (strategy, is_chief, worker_index, out_dir): out_dir is `cfg.model_dir` on the chief and
        `model_dir/workers/worker_<i>` on other workers (created).
    """
    import keras

    try:
        check_precision(cfg.mixed_precision)
    except ValueError as e:
        raise ValueError(f"--mixed_precision: {e}") from None
    keras.utils.set_random_seed(cfg.seed)
    strategy, is_chief, worker = build_strategy(cfg.strategy, cfg.tpu)
    keras.mixed_precision.set_global_policy(resolve_precision(cfg.mixed_precision))
    out_dir = cfg.model_dir if is_chief else os.path.join(cfg.model_dir, "workers", f"worker_{worker}")
    os.makedirs(out_dir, exist_ok=True)
    return strategy, is_chief, worker, out_dir
