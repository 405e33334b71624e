"""Fine-tuning and predicting on real text, from raw strings: ours and keras-hub's task models (`make bench`).

`train_real`: one epoch of `fit` on real Rotten Tomatoes reviews with the all-MiniLM-L6-v2 architecture (ours
loads its real weights; keras-hub builds the same `BertBackbone` from its config: the speed does not depend on
the values), sequence length 128, batch 32, tokenization included; `infer_real`: `predict` of reviews at batch
64. Each task model trains as its users would: ours with its preprocessor (batches padded to their longest row,
grouped by length), keras-hub's `BertTextClassifier` with its `BertTextClassifierPreprocessor` (every row
padded to the sequence length). Records carry seq/s, real (non-padding) tokens/s and the padding fraction.
The texts come from a JSON file (`texts`, `labels`), so that the peer in its own venv reads the same ones.
"""

import json
import time

import numpy as np

MINILM = dict(num_layers=6, hidden_dim=384, num_heads=12, intermediate_dim=1536)


def _texts(spec):
    with open(spec["texts_file"], encoding="utf-8") as f:
        data = json.load(f)
    return data["texts"][:spec["examples"]], np.array(data["labels"][:spec["examples"]], "int32")


def _ours(spec):
    from bert_keras import BertClassifier
    from bert_keras.optimizers import create_optimizer

    model = BertClassifier.from_pretrained(spec["checkpoint"], num_classes=2, seq_length=spec["seq"],
                                           precision=spec.get("precision", "float32"))
    # A long schedule, so the timed epochs do not run on an ended one; the same optimizer as the recipe.
    model.compile(optimizer=create_optimizer("adamw", 2e-5, total_steps=100_000), jit_compile=spec.get("jit", False))
    return model


def _keras_hub(spec):
    import keras
    import keras_hub

    keras.mixed_precision.set_global_policy(spec.get("precision", "float32"))  # keras-hub's way to bf16
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=spec["vocab"], lowercase=True)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=spec["seq"])
    backbone = keras_hub.models.BertBackbone(vocabulary_size=30522, max_sequence_length=512, **MINILM)
    model = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=preprocessor)
    optimizer = keras.optimizers.AdamW(2e-5, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=spec.get("jit", False))
    return model


def _padding(spec, model, texts, training):
    """(real tokens, padded slots) of the batches each implementation builds."""
    if spec["impl"] == "bert_keras":
        dataset = model.text_dataset(texts, batch_size=spec["batch"], training=training, shuffle=training)[0]
        masks = [features["input_mask"].numpy() for features in dataset]
        return sum(int(m.sum()) for m in masks), sum(m.size for m in masks)
    from bert_keras import BertTokenizer  # the same WordPiece ids as keras-hub's, for counting only

    mask = BertTokenizer.from_pretrained(spec["checkpoint"])(texts, seq_length=spec["seq"])["input_mask"]
    return int(np.asarray(mask).sum()), len(texts) * spec["seq"]  # keras-hub pads every row to seq


def train_real(spec):
    texts, labels = _texts(spec)
    model = _ours(spec) if spec["impl"] == "bert_keras" else _keras_hub(spec)
    warm = spec.get("warmup_examples", 256)
    model.fit(texts[:warm], labels[:warm], batch_size=spec["batch"], epochs=1, verbose=0)  # traces the step
    times = []
    for _ in range(spec["runs"]):
        start = time.perf_counter()
        model.fit(texts, labels, batch_size=spec["batch"], epochs=1, verbose=0)
        times.append(time.perf_counter() - start)
    return _result(spec, model, texts, times, training=True)


def infer_real(spec):
    texts, _ = _texts(spec)
    model = _ours(spec) if spec["impl"] == "bert_keras" else _keras_hub(spec)
    model.predict(texts[:spec.get("warmup_examples", 256)], batch_size=spec["batch"], verbose=0)
    times = []
    for _ in range(spec["runs"]):
        start = time.perf_counter()
        model.predict(texts, batch_size=spec["batch"], verbose=0)
        times.append(time.perf_counter() - start)
    return _result(spec, model, texts, times, training=False)


def _result(spec, model, texts, times, training):
    from benchmarks.timing import summary

    real, slots = _padding(spec, model, texts, training)
    out = summary(times, len(texts))
    out["real_tokens_per_s"] = real / float(np.median(times))
    out["padding_fraction"] = 1.0 - real / slots
    return out
