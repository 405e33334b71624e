"""Text: the in-graph tokenizer, the packer and vocab files."""

from bert_keras.text.bert_tokenizer import BertTokenizer
from bert_keras.text.segment_packer import pack_segments
from bert_keras.text.vocab import BERT_RESERVED_TOKENS, learn_vocab, read_vocab, write_vocab

__all__ = ["BertTokenizer", "pack_segments", "BERT_RESERVED_TOKENS", "learn_vocab", "read_vocab", "write_vocab"]
