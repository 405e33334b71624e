import pytest

from bert_keras.data import real_datasets
from bert_keras.data.conll import write_conll
from bert_keras.data.text_classification_file import write_text_classification_file

@pytest.fixture(scope="session")
def rt_files(tmp_path_factory):
    """Small real Rotten Tomatoes TSV files (GLUE layout with a header)."""
    d = tmp_path_factory.mktemp("rt")
    splits = real_datasets.rotten_tomatoes()
    for name, n in (("train", 192), ("dev", 64)):
        rows = splits[name][:n]
        write_text_classification_file(str(d / f"{name}.tsv"), [t for t, _ in rows], [label for _, label in rows])
    return str(d / "train.tsv"), str(d / "dev.tsv")


@pytest.fixture(scope="session")
def wnut_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("wnut")
    splits = real_datasets.wnut16()
    write_conll(str(d / "train.conll"), splits["train"][:160])
    write_conll(str(d / "dev.conll"), splits["dev"][:48])
    return str(d / "train.conll"), str(d / "dev.conll")
