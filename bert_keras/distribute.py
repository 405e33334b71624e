"""`build_strategy`: the `tf.distribute` strategy for a name ("default", "mirrored", "multi_worker", "tpu"), with a
clear error when it cannot be built, and `split_cpu` for MirroredStrategy on one CPU.

Leans on `tf.distribute` itself; what it adds is a workaround that any multi-worker user of Keras 3.15's `fit`
needs (`_patch_multi_worker_reduce`: two failures of its reductions under `MultiWorkerMirroredStrategy`), the chief
decided from `TF_CONFIG`, and errors that say what to pass. `trainers` builds its `--strategy` with it.

Example:
>>> strategy, is_chief, worker = build_strategy("default")
>>> is_chief, worker
(True, 0)
"""

import json
import os

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def split_cpu(num_devices):
    """Splits the host CPU into `num_devices` logical devices (for MirroredStrategy on a CPU-only machine).

    Must run before TensorFlow initialises its devices, i.e. before any op.
    """
    if num_devices <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError as e:
        raise ValueError(f"Cannot split the CPU into {num_devices} devices after TensorFlow has started: {e}") from None


def _patch_multi_worker_reduce(strategy):
    """Works around two failures of Keras 3.15 `fit` under `MultiWorkerMirroredStrategy` with 2+ workers.

    1. To build the model, `fit` reduces the first distributed batch, a nested `(inputs_dict, labels)`, with
       `strategy.reduce(..., axis=None)`; the multi-worker strategy passes the whole structure to its
       cross-device ops and fails ("Attempt to convert a value ({'input_word_ids': PerReplica...}) with an
       unsupported type (<class 'dict'>)"). `MirroredStrategy` reduces such structures leaf by leaf.
    2. Each step, `fit` averages the per-replica scalar logs with `strategy.reduce("MEAN", v, axis=0)`, which
       fails on 0-d values ("Invalid reduction dimension 0 for input with 0 dimensions"); the mean across
       replicas it means is `axis=None` for a scalar.

    This instance's `reduce` therefore reduces leaf by leaf, with `axis=None` for scalars. Same results as the
    single-worker strategies (tests/trainers/test_distribution.py checks the trained weights).
    """
    original = strategy.reduce

    def reduce_leaf(reduce_op, leaf, axis):
        if axis is not None:
            local = strategy.experimental_local_results(leaf)[0]
            if getattr(local, "shape", None) is not None and local.shape.rank == 0:
                axis = None
        return original(reduce_op, leaf, axis)

    def reduce(reduce_op, value, axis=None):
        return tf.nest.map_structure(lambda leaf: reduce_leaf(reduce_op, leaf, axis), value)

    strategy.reduce = reduce


def build_strategy(name, tpu_address=None):
    """(strategy, is_chief, worker_index) for `name` in `STRATEGIES` ("multi_worker" reads `TF_CONFIG`; "tpu"
    connects to `tpu_address`, a TPU name or grpc:// address)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown --strategy {name!r}; use one of {STRATEGIES}.")
    if name == "default":
        return tf.distribute.get_strategy(), True, 0
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(), True, 0
    if name == "multi_worker":
        config = os.environ.get("TF_CONFIG")
        if not config:
            raise ValueError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                             '({"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}).')
        try:
            task = json.loads(config)["task"]
        except (ValueError, KeyError) as e:
            raise ValueError(f"TF_CONFIG is not valid JSON with a 'task' entry: {e}") from None
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _patch_multi_worker_reduce(strategy)
        is_chief = task["type"] == "chief" or (task["type"] == "worker" and int(task["index"]) == 0
                                                and "chief" not in json.loads(config).get("cluster", {}))
        return strategy, is_chief, int(task["index"])
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver), True, 0
    except (ValueError, RuntimeError, OSError, tf.errors.OpError) as e:  # OSError: unresolvable TPU name
        raise ValueError(f"--strategy=tpu could not reach a TPU (--tpu={tpu_address!r}): {e}. Pass the TPU's name "
                         "or grpc:// address with --tpu, or use --strategy=default/mirrored.") from None
