"""Token ids, packing and offsets against Hugging Face's tokenizer on real text from four corpora."""

import os

import numpy as np
import pytest
from tokenizers.implementations import BertWordPieceTokenizer

from bert_keras import BertTokenizer
from tests.helpers import real_sentences


@pytest.fixture(scope="module")
def sentences():
    return real_sentences(per_source=600)


def _char_offsets(text, starts, ends):
    byte_to_char, pos = {}, 0
    for i, ch in enumerate(text):
        byte_to_char[pos] = i
        pos += len(ch.encode("utf-8"))
    byte_to_char[pos] = len(text)
    return [(byte_to_char[s], byte_to_char[e]) for s, e in zip(starts, ends)]


def test_ids_and_offsets_match_hugging_face_on_2400_real_sentences(sentences, minilm_tokenizer, hf_tokenizer):
    mismatched = {}
    for source, texts in sentences.items():
        ids, starts, ends = minilm_tokenizer.tokenize_with_offsets(texts)
        count = 0
        for text, i, s, e, ref in zip(texts, ids.to_list(), starts.to_list(), ends.to_list(),
                                      hf_tokenizer.encode_batch(texts)):
            if i != ref.ids[1:-1] or _char_offsets(text, s, e) != ref.offsets[1:-1]:
                count += 1
        mismatched[source] = count
    print("tokenizer mismatches vs Hugging Face:", mismatched)
    assert sum(len(t) for t in sentences.values()) == 2400
    assert mismatched == {source: 0 for source in sentences}


def test_cased_mode_matches_hugging_face_cased_pipeline(sentences, minilm_dir):
    vocab = os.path.join(minilm_dir, "vocab.txt")
    ours = BertTokenizer(vocab, lower_case=False)
    ref = BertWordPieceTokenizer(vocab, clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                 lowercase=False)
    texts = [t for source in sentences.values() for t in source[:250]]
    ids = ours.tokenize(texts).to_list()
    mismatches = sum(a != r.ids[1:-1] for a, r in zip(ids, ref.encode_batch(texts)))
    assert mismatches == 0


@pytest.mark.parametrize("seq_length", [16, 33, 64])
def test_pair_packing_and_truncation_match_hugging_face(sentences, minilm_tokenizer, hf_tokenizer, seq_length):
    first = sentences["bbc_news"][:200]
    second = sentences["rotten_tomatoes"][:200]
    features = minilm_tokenizer(first, second, seq_length=seq_length)
    hf_tokenizer.enable_truncation(seq_length, strategy="longest_first")
    hf_tokenizer.enable_padding(length=seq_length)
    try:
        refs = hf_tokenizer.encode_batch(list(zip(first, second)))
    finally:
        hf_tokenizer.no_truncation()
        hf_tokenizer.no_padding()
    np.testing.assert_array_equal(features["input_word_ids"], [r.ids for r in refs])
    np.testing.assert_array_equal(features["input_type_ids"], [r.type_ids for r in refs])
    np.testing.assert_array_equal(features["input_mask"], [r.attention_mask for r in refs])
