"""Self-attention layer, forward + backward: this package's fused-QKV layer vs `keras.layers.MultiHeadAttention`.

    .venv/bin/python -m benchmarks.attention_layer [--batch 32 --seq 128 --hidden 512 --heads 8 --runs 7]

Prints the median, min and max of `--runs` timed steps after one warm-up, both layers in the same process
on the same inputs.
"""

import argparse
import time

import bert_keras  # noqa: F401  (sets TF_ENABLE_ONEDNN_OPTS before TensorFlow loads)
import keras
import numpy as np
import tensorflow as tf

from bert_keras.layers import MultiHeadSelfAttention


def _timed_step(layer, call):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            y = call()
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [v.value for v in layer.trainable_variables])
    return step


def main():
    parser = argparse.ArgumentParser()
    for name, default in [("batch", 32), ("seq", 128), ("hidden", 512), ("heads", 8), ("runs", 7)]:
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(args.batch, args.seq, args.hidden)).astype("float32"))
    mask = tf.ones((args.batch, args.seq), tf.int32)
    ours = MultiHeadSelfAttention(args.hidden, args.heads, attention_dropout=0.0)
    keras_mha = keras.layers.MultiHeadAttention(args.heads, args.hidden // args.heads)
    attention_mask = tf.cast(mask[:, None, :] * tf.ones((1, args.seq, 1), tf.int32), tf.bool)
    ours(x, mask)
    keras_mha(x, x)
    steps = {
        "bert_keras MultiHeadSelfAttention (fused QKV)": _timed_step(ours, lambda: ours(x, mask)),
        "keras.layers.MultiHeadAttention": _timed_step(
            keras_mha, lambda: keras_mha(x, x, attention_mask=attention_mask)),
    }
    print(f"self-attention fwd+bwd, batch {args.batch}, seq {args.seq}, hidden {args.hidden}, heads {args.heads}")
    print(f"{'layer':48s} {'median ms':>10s} {'min':>8s} {'max':>8s}")
    for name, step in steps.items():
        step()
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1e3)
        print(f"{name:48s} {np.median(times):10.1f} {min(times):8.1f} {max(times):8.1f}")


if __name__ == "__main__":
    main()
