"""The `tf.data` options every input pipeline of the toolkit ends with (text batches, pretraining batches).

tf.data's autotuner is left off. On TensorFlow 2.21 (seen on Intel and AMD CPUs), deleting an iterator whose
autotuner is running blocks until the autotuner's next optimization round, and those rounds come at doubling
intervals (10 ms, 20 ms, ... up to a minute): a `predict` on 4,096 reviews that computes for 11 s returned after
20.5 s, and one `fit` epoch of 11 s took 20 s, each time Keras dropped the epoch's iterator. Our pipelines are
short (tokenized ids in memory, one packing `map`), so the tuner has nothing to win: the `map` runs with the
default parallelism (the CPU count, at most 16) and `PREFETCH_BATCHES` batches wait ahead of the model.
"""

import tensorflow as tf

PREFETCH_BATCHES = 2


def pipeline_options(deterministic=True):
    """`tf.data.Options`: autotuning off (see the module docstring), data sharding under `tf.distribute`."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = deterministic
    return options
