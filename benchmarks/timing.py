"""What every benchmark worker shares, ours and the peers' in their own venvs alike: numpy only, no TensorFlow.

`summary` turns per-run seconds into the record fields (median seq/s and the min/max range); `time_steps` is
the warm-up + timed loop of the peers; `SIZES` the named encoder sizes (layers, hidden) the peers build, and
`hf_bert_config` transformers' `BertConfig` of one.
"""

import time

# The sizes of `bert_keras.configs` (layers, hidden); heads = hidden / 64, intermediate = 4 x hidden.
SIZES = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512), "base": (12, 768),
         "large": (24, 1024)}


def hf_bert_config(name, num_labels=2):
    """transformers' `BertConfig` of the named size (BERT's uncased vocab, 512 positions, 2 segments)."""
    from transformers import BertConfig
    layers, hidden = SIZES[name]
    return BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers,
                      num_attention_heads=hidden // 64, intermediate_size=4 * hidden, num_labels=num_labels)


def summary(times, items_per_run):
    """seq/s from per-run seconds: median, and the min/max throughput."""
    import numpy as np
    times = np.asarray(times, dtype="float64")
    return {
        "seq_per_s": float(items_per_run / np.median(times)),
        "seq_per_s_min": float(items_per_run / times.max()),
        "seq_per_s_max": float(items_per_run / times.min()),
        "ms_median": float(1e3 * np.median(times)),
        "ms_min": float(1e3 * times.min()),
        "ms_max": float(1e3 * times.max()),
        "runs": int(times.size),
    }


def time_steps(step, warmup, runs):
    """Calls `step` `warmup` times untimed, then `runs` times timed; returns the seconds of each timed call."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def explain_head(hidden, seed=17):
    """The fixed linear head (kernel [hidden, 2], bias [2], float32) on the pooled output that both sides of the
    `explain` rows put on the MiniLM encoder: the one tests/fixtures/make_captum_reference.py draws, so that ours
    and Captum's explain the same model (same weights, same predicted class)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    kernel = (rng.normal(size=(hidden, 2)) * 0.5).astype(np.float32)
    bias = (rng.normal(size=(2,)) * 0.1).astype(np.float32)
    return kernel, bias


def explain_texts(spec):
    """(warm-up texts, timed texts) of an `explain` spec: the file's first `warmup_examples`, then `examples` from
    `offset` on (rounds that alternate the implementations take consecutive slices)."""
    import json
    with open(spec["texts_file"], encoding="utf-8") as f:
        texts = json.load(f)["texts"]
    warm = spec.get("warmup_examples", 1)
    first = warm + spec.get("offset", 0)
    return texts[:warm], texts[first:first + spec["examples"]]
