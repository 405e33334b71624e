import pytest

from bert_keras.data.conll import read_conll, write_conll


def test_conll2003_columns_and_docstart(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n",
                    encoding="utf-8")
    assert read_conll(str(path)) == [(["EU", "rejects"], ["B-ORG", "O"]), (["Peter"], ["B-PER"])]


def test_round_trip_real_wnut(tmp_path):
    from bert_keras.data import real_corpora

    sentences = list(real_corpora.wnut16())[:50]
    write_conll(str(tmp_path / "w.conll"), sentences)
    assert read_conll(str(tmp_path / "w.conll")) == sentences


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("EU B-ORG\nlonely\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected 'token tag'"):
        read_conll(str(path))
    path.write_text("EU ORG\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:1: tag 'ORG' is not BIO"):
        read_conll(str(path))
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        read_conll(str(path))
