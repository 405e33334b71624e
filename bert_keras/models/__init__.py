"""Keras models: the encoder and the task heads."""

from bert_keras.models.bert_classifier import BertClassifier
from bert_keras.models.bert_encoder import BertEncoder
from bert_keras.models.bert_pretrainer import BertPretrainer
from bert_keras.models.bert_span_qa import BertSpanQA
from bert_keras.models.bert_text_embedder import BertTextEmbedder
from bert_keras.models.bert_token_classifier import BertTokenClassifier

__all__ = ["BertClassifier", "BertEncoder", "BertPretrainer", "BertSpanQA", "BertTextEmbedder", "BertTokenClassifier"]
