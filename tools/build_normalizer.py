"""Builds the FastBertNormalizer tables that make tensorflow-text tokenize exactly like original BERT / Hugging Face.

tensorflow-text's built-in normalizer lower-cases with ICU NFKC_Casefold, so it maps fullwidth punctuation
(`，` -> `,`), superscripts (`²` -> `2`), `µ`, `ß` (-> `ss`) and about 11,000 other code points differently from
original BERT's `BasicTokenizer` and Hugging Face's `BertNormalizer` (`lower()` + NFD + drop Mn, control
characters removed). Its fused op accepts a prebuilt table, though: a darts-clone trie from each code point's
UTF-8 bytes to an entry in a pool of normalized strings (format: tensorflow_text/core/kernels/
fast_bert_normalizer.h and fast_bert_normalizer_model.fbs). This script fills that table from Hugging Face's
normalizer, code point by code point, so the same fast op (with its TF Serving and TFLite kernels, and
offsets back to the original text) gives the reference's output.

Run (needs `dartsclone`, which builds from source; not needed at run time):
    .venv/bin/pip install dartsclone==0.10.2 && .venv/bin/python tools/build_normalizer.py
Writes bert_keras/text/data/bert_normalizer_{uncased,cased}.fb. tests/text/test_normalizer_tables.py checks
every code point of the shipped tables against the `tokenizers` normalizer.
"""

import os
import struct

import dartsclone
import flatbuffers
from tokenizers.normalizers import BertNormalizer

IS_DIFFERENT = 0x40000000
LENGTH_BITS = 6
OUT_DIR = os.path.join(os.path.dirname(__file__), "..", "bert_keras", "text", "data")


def is_unicode_char(cp):
    # ICU's U_IS_UNICODE_CHAR: not a surrogate, not a noncharacter.
    return cp <= 0x10FFFF and not (0xD800 <= cp <= 0xDFFF) and not (0xFDD0 <= cp <= 0xFDEF) \
        and (cp & 0xFFFE) != 0xFFFE


def reference_normalizer(lower_case):
    # CJK padding is left to the WordPiece pre-tokenizer, which splits CJK characters itself.
    return BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=lower_case,
                          lowercase=lower_case)


def build(lower_case):
    normalizer = reference_normalizer(lower_case)
    keys, values, pool, offsets = [], [], bytearray(), {}
    data_for_zero = 0
    for cp in range(0x110000):
        if not is_unicode_char(cp):
            continue
        char = chr(cp)
        norm = normalizer.normalize_str(char)
        if norm == char:
            continue
        encoded = norm.encode("utf-8")
        if len(encoded) >= 1 << LENGTH_BITS:
            raise ValueError(f"U+{cp:04X} normalizes to {len(encoded)} bytes, more than the table can hold")
        data = IS_DIFFERENT
        if encoded:
            if encoded not in offsets:
                offsets[encoded] = len(pool)
                pool += encoded
            data |= len(encoded) | (offsets[encoded] << LENGTH_BITS)
        if cp == 0:
            data_for_zero = data
            continue
        keys.append(char.encode("utf-8"))
        values.append(data)
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    trie = dartsclone.DoubleArray()
    trie.build([keys[i] for i in order], values=[values[i] for i in order])
    units = struct.unpack(f"<{trie.size()}I", trie.array())

    builder = flatbuffers.Builder(1024)
    builder.StartVector(4, len(units), 4)
    for unit in reversed(units):
        builder.PrependUint32(unit)
    trie_vec = builder.EndVector()
    pool_vec = builder.CreateByteVector(bytes(pool))
    builder.StartObject(4)
    builder.PrependBoolSlot(0, lower_case, False)
    builder.PrependUOffsetTRelativeSlot(1, trie_vec, 0)
    builder.PrependInt32Slot(2, data_for_zero, 0)
    builder.PrependUOffsetTRelativeSlot(3, pool_vec, 0)
    builder.Finish(builder.EndObject())
    return bytes(builder.Output()), len(keys)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for lower_case in (True, False):
        buffer, count = build(lower_case)
        path = os.path.join(OUT_DIR, f"bert_normalizer_{'uncased' if lower_case else 'cased'}.fb")
        with open(path, "wb") as f:
            f.write(buffer)
        print(f"{path}: {count} code points mapped, {len(buffer)} bytes")


if __name__ == "__main__":
    main()
