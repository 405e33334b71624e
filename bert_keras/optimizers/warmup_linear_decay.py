"""`WarmupLinearDecay`: BERT's learning-rate schedule, linear warmup then linear decay.

Keras has warmup only inside `CosineDecay`; BERT's schedule (Google's `optimization.py`, Hugging Face's
`get_linear_schedule_with_warmup`) is linear both ways. A registered serializable `LearningRateSchedule`, so it
survives `.keras` saving and `BackupAndRestore`.
"""

import keras


@keras.saving.register_keras_serializable(package="bert_keras")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """0 -> `peak` linearly over `warmup_steps`, then linearly to `end` at `total_steps` (held after).

    Steps count optimizer updates. Under gradient accumulation Keras calls the schedule with the number of
    micro-batches seen (`optimizer._iterations`, not `optimizer.iterations`); `accumulation_steps=N` divides it
    back, so that N micro-batches of 8 train with the learning rates of one batch of 8N.

    Example:
    >>> schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=110)
    >>> [round(float(schedule(s)), 6) for s in (0, 5, 10, 60, 110, 200)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0, 0.0]
    >>> [round(float(WarmupLinearDecay(1e-3, 10, 110, accumulation_steps=4)(s)), 6) for s in (0, 3, 4, 43)]
    [0.0, 0.0, 0.0001, 0.001]
    """

    def __init__(self, peak, warmup_steps, total_steps, end=0.0, accumulation_steps=1):
        if total_steps < 1 or warmup_steps < 0 or warmup_steps > total_steps:
            raise ValueError(f"Need 0 <= warmup_steps ({warmup_steps}) <= total_steps ({total_steps}), total >= 1.")
        if isinstance(accumulation_steps, bool) or not isinstance(accumulation_steps, int) or accumulation_steps < 1:
            raise ValueError(f"accumulation_steps must be an integer >= 1, got {accumulation_steps!r}.")
        self.peak, self.warmup_steps, self.total_steps, self.end = float(peak), int(warmup_steps), \
            int(total_steps), float(end)
        self.accumulation_steps = accumulation_steps

    def __call__(self, step):
        step = keras.ops.floor_divide(keras.ops.cast(step, "int64"), self.accumulation_steps)
        step = keras.ops.cast(step, "float32")
        warm = self.peak * step / max(1, self.warmup_steps)
        frac = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        decay = self.peak + (self.end - self.peak) * keras.ops.minimum(frac, 1.0)
        return keras.ops.where(step < self.warmup_steps, warm, decay)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps,
                "end": self.end, "accumulation_steps": self.accumulation_steps}
