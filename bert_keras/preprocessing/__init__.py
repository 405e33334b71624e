"""Preprocessors: raw text -> batches of BERT features, owned by the task models and saved with them."""

from bert_keras.preprocessing.bert_text_preprocessor import BertTextPreprocessor, text_column

__all__ = ["BertTextPreprocessor", "text_column"]
