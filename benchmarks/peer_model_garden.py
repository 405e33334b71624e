"""Peer: TF Model Garden's `BertEncoderV2` + `BertClassifier`, run by `benchmarks.run --peers` with
`.venv-mg/bin/python` (tf-models-official 2.20 needs TensorFlow 2.20 and tf-keras, so a venv of its own; see
`make bench-peers`).

    .venv-mg/bin/python -m benchmarks.peer_model_garden '{"kind": "train", "config": "small", "batch": 32, ...}'

Built from the same sizes as `benchmarks.models` (no checkpoint), `official.nlp.modeling.networks.BertEncoderV2`
(the `bert_encoder.py` of Model Garden) under `models.BertClassifier`, trained with tf-keras `AdamW`
(global-norm clipping 1.0) by `train_on_batch`. The setting names the variant: "xla" compiles the train step /
forward pass with XLA (Model Garden's fastest inference setting), "xla_cls" also sets `output_range=1` (the last block for
[CLS] only, as Model Garden offers for classifiers), "graph" is neither; `precision` "mixed_bfloat16" sets
tf-keras's mixed_bfloat16 policy. Prints one `RESULT {json}` line like
`benchmarks.measure`. Imports neither Keras 3 nor bert_keras (that venv has neither).
"""

import json
import os
import sys

from benchmarks.timing import SIZES, summary, time_steps

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv):
    import numpy as np
    import tensorflow as tf
    import tf_keras
    from official.nlp.modeling import models, networks

    spec = json.loads(argv[1])
    setting = spec.get("setting", "xla")
    if setting not in ("graph", "xla", "xla_cls"):
        raise ValueError(f"Unknown Model Garden setting {setting!r}: graph, xla or xla_cls.")
    jit = setting != "graph"
    layers, hidden = SIZES[spec["config"]]
    tf_keras.utils.set_random_seed(0)
    # tf-keras's mixed precision, as Model Garden's trainers set it (`runtime.mixed_precision_dtype`).
    tf_keras.mixed_precision.set_global_policy(spec.get("precision", "float32"))
    encoder = networks.BertEncoderV2(
        vocab_size=30522, hidden_size=hidden, num_layers=layers, num_attention_heads=hidden // 64,
        max_sequence_length=512, type_vocab_size=2, inner_dim=4 * hidden,
        output_range=1 if setting == "xla_cls" else None)
    model = models.BertClassifier(network=encoder, num_classes=2)
    rng = np.random.default_rng(0)
    batch, seq = spec["batch"], spec["seq"]
    types = np.zeros((batch, seq), np.int32)
    types[:, seq // 2:] = 1
    inputs = {"input_word_ids": tf.constant(rng.integers(1000, 30522, size=(batch, seq)), tf.int32),
              "input_mask": tf.ones((batch, seq), tf.int32), "input_type_ids": tf.constant(types)}
    labels = tf.constant(rng.integers(0, 2, size=(batch,)), tf.int32)
    if spec["kind"] == "train":
        model.compile(optimizer=tf_keras.optimizers.AdamW(learning_rate=2e-5, weight_decay=0.01, epsilon=1e-6,
                                                          global_clipnorm=1.0),
                      loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit)

        def step():
            model.train_on_batch(inputs, labels)
    else:
        forward = tf.function(lambda x: model(x, training=False), jit_compile=jit)

        def step():
            forward(inputs).numpy()
    times = time_steps(step, spec["warmup"], spec["runs"])
    record = {"spec": spec, "tensorflow": tf.__version__, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
              **summary(times, batch)}
    print("RESULT " + json.dumps(record))


if __name__ == "__main__":
    main(sys.argv)
