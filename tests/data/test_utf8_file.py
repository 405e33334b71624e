import pytest

from bert_keras.data.conll import read_conll
from bert_keras.data.squad import read_squad
from bert_keras.data.text_classification_file import read_text_classification_file
from bert_keras.data.utf8_file import read_utf8


def test_reads_utf8_and_drops_a_bom(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffcafé\n北京\n".encode("utf-8"))
    assert read_utf8(str(path)) == "café\n北京\n"


@pytest.mark.parametrize("reader, name, good", [
    (read_text_classification_file, "train.tsv", b"sentence\tlabel\na good film\tpos\n"),
    (read_conll, "train.conll", b"Paris\tB-LOC\nis\tO\n\n"),
    (read_squad, "train.json", b'{"data": [\n'),
])
def test_invalid_utf8_names_file_line_and_fix(tmp_path, reader, name, good):
    path = tmp_path / name
    path.write_bytes(good + b"caf\xe9 au lait\tpos\n")  # Latin-1 e-acute: one bad byte on the line after `good`
    line = good.count(b"\n") + 1
    with pytest.raises(ValueError, match=rf"{name}:{line}: not valid UTF-8 \(byte e9 at column 4: .*\)\. Re-save "
                                         r"the file as UTF-8"):
        reader(str(path))


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="Data file /no/such.tsv does not exist"):
        read_utf8("/no/such.tsv")
