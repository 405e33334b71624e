"""Import (and export) of pretrained BERT checkpoints: Hugging Face directories and Google TF1 checkpoints."""

from bert_keras.checkpoints.loader import (
    Checkpoint,
    assign_encoder_weights,
    encoder_tensors,
    load_checkpoint,
    save_google_checkpoint,
)

__all__ = ["Checkpoint", "assign_encoder_weights", "encoder_tensors", "load_checkpoint", "save_google_checkpoint"]
