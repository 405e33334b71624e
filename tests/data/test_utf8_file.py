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


def test_checkpoint_and_text_files_name_file_and_line(tmp_path, minilm_dir):
    import shutil

    from bert_keras import BertTokenizer
    from bert_keras.configs import encoder_config_from_json
    from bert_keras.data.utf8_file import read_json
    from bert_keras.text.vocab import read_vocab
    from bert_keras.export.saved_model import sample_texts

    config = tmp_path / "config.json"
    config.write_text('{"hidden_size": 384,\n "num_attention_heads": 12,\n', encoding="utf-8")  # cut short
    with pytest.raises(ValueError, match=r"config.json:3: not valid JSON \(.*\); re-download the checkpoint's config"):
        encoder_config_from_json(str(config))
    vocab = tmp_path / "vocab.txt"
    vocab.write_bytes(b"[PAD]\n[UNK]\ncaf\xe9\n")
    with pytest.raises(ValueError, match=r"vocab.txt:3: not valid UTF-8 \(byte e9"):
        read_vocab(str(vocab))
    vocab.write_bytes(b"\xef\xbb\xbf[PAD]\r\n[UNK]\r\ncaf\xc3\xa9\r\n\r\n")  # a BOM and Windows line ends
    assert read_vocab(str(vocab)) == ["[PAD]", "[UNK]", "café"]
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(minilm_dir, checkpoint, ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "*.h5"))
    (checkpoint / "tokenizer_config.json").write_text('{"do_lower_case": tru', encoding="utf-8")
    with pytest.raises(ValueError, match=r"tokenizer_config.json:1: not valid JSON .*tokenizer_config.json or "
                                         "delete it"):
        BertTokenizer.from_pretrained(str(checkpoint))
    texts = tmp_path / "texts.txt"
    texts.write_bytes(b"a fine film\nun caf\xe9\n")
    with pytest.raises(ValueError, match=r"texts.txt:2: not valid UTF-8"):
        sample_texts({}, "test", str(texts))
    (tmp_path / "ok.json").write_text('{"a": [1, "é"]}', encoding="utf-8")
    assert read_json(str(tmp_path / "ok.json")) == {"a": [1, "é"]}


def test_atomic_write_json_replaces_the_file_whole(tmp_path):
    import json
    import os

    from bert_keras.data.utf8_file import atomic_write_json

    path = str(tmp_path / "metrics.json")
    atomic_write_json(path, {"b": 1, "a": [1, 2]})
    atomic_write_json(path, {"accuracy": 0.5})
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == {"accuracy": 0.5}
    assert os.listdir(tmp_path) == ["metrics.json"]  # no temporary file left beside it
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # what open() gives, not mkstemp's 0600



def test_atomic_output_keeps_the_old_file_when_the_writer_fails(tmp_path):
    import os

    import pytest

    from bert_keras.data.utf8_file import atomic_output

    path = tmp_path / "model.tflite"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="converter died"):
        with atomic_output(str(path)) as tmp, open(tmp, "wb") as f:
            f.write(b"half")
            raise RuntimeError("converter died")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.tflite"]
