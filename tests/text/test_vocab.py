import pytest

from bert_keras import BertTokenizer
from bert_keras.data import real_corpora
from bert_keras.text import BERT_RESERVED_TOKENS, learn_vocab, read_vocab, write_vocab


def test_learned_vocab_tokenizes_real_english_text_without_unknowns():
    paragraphs = [p for _, _, ps in real_corpora.bbc_news() for p in ps][:1200]
    vocab = learn_vocab(paragraphs[:900], vocab_size=1500, lower_case=True)
    assert vocab[:5] == list(BERT_RESERVED_TOKENS)
    assert 1300 <= len(vocab) <= 1600
    assert len(set(vocab)) == len(vocab)
    tokenizer = BertTokenizer(vocab)
    ids = tokenizer.tokenize(paragraphs[900:]).flat_values.numpy()
    assert (ids == tokenizer.unk_id).mean() < 0.001
    assert any(t.startswith("##") for t in vocab)


def test_chinese_characters_are_single_tokens():
    paragraphs = ["".join(w for w, _ in p) for _, p in zip(range(800), real_corpora.peoples_daily())]
    vocab = learn_vocab(paragraphs, vocab_size=1500, lower_case=True)
    cjk = [t for t in vocab if any("\u4e00" <= ch <= "\u9fff" for ch in t)]
    assert len(cjk) > 500
    assert all(len(t.removeprefix("##")) == 1 for t in cjk)


def test_empty_corpus_is_refused():
    with pytest.raises(ValueError, match="empty corpus"):
        learn_vocab([], vocab_size=100)


def test_vocab_size_must_exceed_reserved_tokens():
    with pytest.raises(ValueError, match="larger than the 5 reserved tokens"):
        learn_vocab(["a b c"], vocab_size=5)


def test_write_then_read_round_trip(tmp_path):
    tokens = ["[PAD]", "[UNK]", "héllo", "##ß", "北"]
    path = tmp_path / "sub" / "vocab.txt"
    write_vocab(tokens, str(path))
    assert read_vocab(str(path)) == tokens
    assert [p.name for p in path.parent.iterdir()] == ["vocab.txt"]  # no temporary file left behind


def test_missing_vocab_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_vocab(str(tmp_path / "nope.txt"))


def test_learned_tokens_are_those_the_tokenizer_produces():
    texts = ["北京，上海，广州。", "Straße und Straße", "ＡＢＣ news"] * 20
    vocab = learn_vocab(texts, vocab_size=60, lower_case=True)
    assert {"，", "ß", "##ß", "straße", "ａｂｃ"} <= set(vocab)
    assert not {",", "ss", "strasse", "abc"} & set(vocab)


def test_learn_vocab_file_writes_and_measures_a_vocab(tmp_path):
    from bert_keras.text.vocab import learn_vocab_file

    corpus = tmp_path / "bbc.txt"  # Google's format: a sentence per line, a blank line between documents
    corpus.write_text("\n\n".join(". ".join([title] + body[:3]) for _, title, body in
                                  list(real_corpora.bbc_news())[:150]) + "\n", encoding="utf-8")
    summary = learn_vocab_file(str(corpus), 800, str(tmp_path / "vocab.txt"), num_unused=3)
    vocab = read_vocab(str(tmp_path / "vocab.txt"))
    assert vocab[:8] == list(BERT_RESERVED_TOKENS) + ["[unused0]", "[unused1]", "[unused2]"]
    assert summary["vocab_size"] == len(vocab) and summary["reserved_tokens"] == 8 and summary["documents"] == 150
    assert summary["continuation_pieces"] == sum(t.startswith("##") for t in vocab) > 0
    assert summary["unk_rate"] < 0.01 and 1.0 <= summary["wordpieces_per_word"] < 2.0
