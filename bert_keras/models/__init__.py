"""Keras models: the encoder (task heads come with fine-tuning and pretraining)."""

from bert_keras.models.bert_encoder import BertEncoder

__all__ = ["BertEncoder"]
