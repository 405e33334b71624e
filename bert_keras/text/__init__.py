"""Text: the in-graph tokenizer (`bert_tokenizer`), segment packing (`segment_packer`), vocab files and learning
(`vocab`), word-level tagging features (`word_features`), SQuAD windows and answers (`squad_features`), and the
pretraining pieces: NSP pairs (`nsp_pairs`), MLM masking (`mlm_masking`), datasets and records
(`pretraining_dataset`)."""

from bert_keras.text.bert_tokenizer import BertTokenizer
from bert_keras.text.segment_packer import pack_segments
from bert_keras.text.vocab import BERT_RESERVED_TOKENS, learn_vocab, read_vocab, write_vocab

__all__ = ["BertTokenizer", "pack_segments", "BERT_RESERVED_TOKENS", "learn_vocab", "read_vocab", "write_vocab"]
