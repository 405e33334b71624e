"""Keras layers that make up the BERT encoder."""

from bert_keras.layers.bert_embeddings import BertEmbeddings
from bert_keras.layers.bert_pooler import BertPooler
from bert_keras.layers.fused_dense import FusedDense
from bert_keras.layers.masked_lm_head import BertMaskedLMHead
from bert_keras.layers.multi_head_self_attention import MultiHeadSelfAttention
from bert_keras.layers.next_sentence_head import NextSentenceHead
from bert_keras.layers.packed_random_dropout import PackedRandomDropout
from bert_keras.layers.text_embedding_pooling import TextEmbeddingPooling
from bert_keras.layers.transformer_block import TransformerBlock

__all__ = ["BertEmbeddings", "BertMaskedLMHead", "BertPooler", "FusedDense", "MultiHeadSelfAttention",
           "NextSentenceHead", "PackedRandomDropout", "TextEmbeddingPooling", "TransformerBlock"]
