"""The shipped normalizer tables (tools/build_normalizer.py) against Hugging Face's BertNormalizer, on every
Unicode code point, through the tensorflow-text op that the tokenizer runs."""

import pytest
import tensorflow as tf
from tensorflow_text.python.ops.fast_bert_normalizer import FastBertNormalizer
from tokenizers.normalizers import BertNormalizer

from bert_keras.text.bert_tokenizer import normalizer_table


def _unicode_chars():
    return [chr(cp) for cp in range(0x110000)
            if not (0xD800 <= cp <= 0xDFFF) and not (0xFDD0 <= cp <= 0xFDEF) and (cp & 0xFFFE) != 0xFFFE]


@pytest.mark.parametrize("lower_case", [True, False])
def test_every_code_point_matches_hugging_face(lower_case):
    chars = _unicode_chars()
    assert len(chars) == 1_111_998
    ours = FastBertNormalizer(model_buffer=normalizer_table(lower_case)).normalize(tf.constant(chars)).numpy()
    ref = BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=lower_case,
                         lowercase=lower_case)
    mismatches = [c for c, o in zip(chars, ours) if o.decode("utf-8") != ref.normalize_str(c)]
    assert mismatches == []


def test_stock_tensorflow_text_table_differs_which_is_why_ours_exists():
    stock = FastBertNormalizer(lower_case_nfd_strip_accents=True)
    out = [s.decode() for s in stock.normalize(tf.constant(["，", "ß", "²"])).numpy()]
    assert out == [",", "ss", "2"]
