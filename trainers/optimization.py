"""Optimizers for BERT: AdamW (or LAMB) with linear warmup then linear decay, global-norm gradient clipping.

Keras core provides AdamW and Lamb; only the schedule is written here, as a registered serializable
`LearningRateSchedule` so it survives `.keras` saving and `BackupAndRestore`.
"""

import keras

# Variables that BERT trains without weight decay: biases and LayerNorm scales/offsets.
NO_DECAY = ["bias", "gamma", "beta"]


@keras.saving.register_keras_serializable(package="bert_keras")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """0 -> `peak` linearly over `warmup_steps`, then linearly to `end` at `total_steps` (held after).

    Example:
    >>> schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=110)
    >>> [round(float(schedule(s)), 6) for s in (0, 5, 10, 60, 110, 200)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0, 0.0]
    """

    def __init__(self, peak, warmup_steps, total_steps, end=0.0):
        if total_steps < 1 or warmup_steps < 0 or warmup_steps > total_steps:
            raise ValueError(f"Need 0 <= warmup_steps ({warmup_steps}) <= total_steps ({total_steps}), total >= 1.")
        self.peak, self.warmup_steps, self.total_steps, self.end = float(peak), int(warmup_steps), \
            int(total_steps), float(end)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = self.peak * step / max(1, self.warmup_steps)
        frac = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        decay = self.peak + (self.end - self.peak) * keras.ops.minimum(frac, 1.0)
        return keras.ops.where(step < self.warmup_steps, warm, decay)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps,
                "end": self.end}


def create_optimizer(name, learning_rate, total_steps, warmup_ratio=0.1, weight_decay=0.01, clipnorm=1.0):
    """AdamW (`adamw`) or LAMB (`lamb`) on a warmup + linear-decay schedule, no decay on biases and LayerNorm."""
    if not 0.0 <= warmup_ratio < 1.0:
        raise ValueError(f"warmup_ratio must be in [0, 1), got {warmup_ratio}.")
    schedule = WarmupLinearDecay(learning_rate, int(round(warmup_ratio * total_steps)), max(1, total_steps))
    if name == "adamw":
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=weight_decay, epsilon=1e-6,
                                           global_clipnorm=clipnorm)
    elif name == "lamb":
        optimizer = keras.optimizers.Lamb(schedule, epsilon=1e-6, global_clipnorm=clipnorm)
    else:
        raise ValueError(f"Unknown optimizer {name!r}; use 'adamw' or 'lamb'.")
    if name == "adamw":
        optimizer.exclude_from_weight_decay(var_names=NO_DECAY)
    return optimizer
