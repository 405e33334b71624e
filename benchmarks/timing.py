"""What every benchmark worker shares, ours and the peers' in their own venvs alike: numpy only, no TensorFlow.

`summary` turns per-run seconds into the record fields (median seq/s and the min/max range); `time_steps` is
the warm-up + timed loop of the peers; `SIZES` the named encoder sizes (layers, hidden) the peers build.
"""

import time

# The sizes of `bert_keras.configs` (layers, hidden); heads = hidden / 64, intermediate = 4 x hidden.
SIZES = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512), "base": (12, 768),
         "large": (24, 1024)}


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
