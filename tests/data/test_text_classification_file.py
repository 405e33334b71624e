import pytest

from bert_keras.data.text_classification_file import read_text_classification_file, write_text_classification_file


def test_glue_sst2_style_with_header(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("sentence\tlabel\nhide new secretions \t0\nit 's a charming journey\t1\n", encoding="utf-8")
    texts, texts_b, labels, lines = read_text_classification_file(str(path))
    assert texts == ["hide new secretions ", "it 's a charming journey"] and texts_b is None
    assert labels == ["0", "1"] and lines == [2, 3]


def test_pairs_without_header_and_csv_quoting(tmp_path):
    path = tmp_path / "pairs.csv"
    write_text_classification_file(str(path), ["a, with comma", 'say "hi"'], ["yes", "no"], texts_b=["b", "c"],
                                   header=False)
    texts, texts_b, labels, _ = read_text_classification_file(str(path))
    assert texts == ["a, with comma", 'say "hi"'] and texts_b == ["b", "c"] and labels == ["yes", "no"]


def test_mrpc_style_named_columns(tmp_path):
    path = tmp_path / "mrpc.tsv"
    path.write_text("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tHe said.\tHe stated.\n", encoding="utf-8")
    texts, texts_b, labels, _ = read_text_classification_file(str(path))
    assert (texts, texts_b, labels) == (["He said."], ["He stated."], ["1"])


def test_malformed_row_names_file_and_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("sentence\tlabel\ngood\t1\nbad row with\textra\tcolumn\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.tsv:3: expected 2 columns, found 3"):
        read_text_classification_file(str(path))


def test_empty_file_and_regression_labels(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.tsv is empty"):
        read_text_classification_file(str(empty))
    reg = tmp_path / "sts.tsv"
    reg.write_text("sentence1\tsentence2\tlabel\na\tb\t3.5\nc\td\tfour\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"sts.tsv:3: regression label 'four' is not a number"):
        read_text_classification_file(str(reg), regression=True)


def test_a_bad_row_after_a_multiline_field_is_named_by_its_own_line(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('text,label\n"a review\nover three\nlines",pos\ngood,neg\nbad,row,here\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"quoted.csv:6: expected 2 columns, found 3"):
        read_text_classification_file(str(path))
    path.write_text('text,label\n"a review\nover two",pos\n\ngood,neg\n', encoding="utf-8")
    texts, _, labels, lines = read_text_classification_file(str(path))
    assert (texts, labels, lines) == (["a review\nover two", "good"], ["pos", "neg"], [2, 5])
