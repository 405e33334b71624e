"""BERT's optimizers: AdamW (fused) or LAMB on a warmup + linear-decay schedule, no decay on biases and LayerNorm.

Keras core provides AdamW and Lamb; written here are the schedule (`WarmupLinearDecay`), the fused AdamW update
(`FusedAdamW`) and `create_optimizer`, the recipe that the task models' `compile()` and the trainers use.
"""

import keras

from bert_keras.optimizers.fused_adamw import FusedAdamW
from bert_keras.optimizers.warmup_linear_decay import WarmupLinearDecay

# Variables that BERT trains without weight decay: biases and LayerNorm scales/offsets.
NO_DECAY = ("bias", "gamma", "beta")
OPTIMIZERS = ("adamw", "lamb")


def create_optimizer(name, learning_rate, total_steps, warmup_ratio=0.1, weight_decay=0.01, clipnorm=1.0,
                     gradient_accumulation_steps=None):
    """AdamW (`adamw`, fused) or LAMB (`lamb`) as BERT trains with them.

    Linear warmup over `warmup_ratio` of `total_steps`, then linear decay to 0; global-norm clipping at
    `clipnorm`; decoupled weight decay `weight_decay` on every variable except biases and LayerNorm (Google's
    BERT uses 0.01 for both optimizers). `gradient_accumulation_steps=N` (Keras's own accumulation) updates the
    weights once every N batches with their mean gradient: clipping, weight decay, Adam's moments and the
    schedule then see one batch N times as large (`total_steps` counts those updates).

    Example:
    >>> optimizer = create_optimizer("lamb", 1e-3, total_steps=100)
    >>> type(optimizer).__name__, optimizer.weight_decay
    ('Lamb', 0.01)
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; use one of {OPTIMIZERS}.")
    if not 0.0 <= warmup_ratio < 1.0:
        raise ValueError(f"warmup_ratio must be in [0, 1), got {warmup_ratio}.")
    if weight_decay is not None and weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}.")
    if gradient_accumulation_steps is not None and (
            isinstance(gradient_accumulation_steps, bool) or not isinstance(gradient_accumulation_steps, int)
            or gradient_accumulation_steps < 1):
        raise ValueError(f"gradient_accumulation_steps must be an integer >= 1 (1 or None: off), got "
                         f"{gradient_accumulation_steps!r}.")
    accumulation = gradient_accumulation_steps if gradient_accumulation_steps and gradient_accumulation_steps > 1 \
        else None
    schedule = WarmupLinearDecay(learning_rate, int(round(warmup_ratio * total_steps)), max(1, total_steps),
                                 accumulation_steps=accumulation or 1)
    cls = FusedAdamW if name == "adamw" else keras.optimizers.Lamb
    optimizer = cls(schedule, weight_decay=weight_decay, epsilon=1e-6, global_clipnorm=clipnorm,
                    gradient_accumulation_steps=accumulation)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    return optimizer


__all__ = ["FusedAdamW", "NO_DECAY", "WarmupLinearDecay", "create_optimizer"]
