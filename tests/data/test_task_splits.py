"""TaskSplits: bundled datasets and files per task, label names and checks named by file and line, fit inputs."""

import pytest

from bert_keras.data.task_splits import TaskSplits
from bert_keras.data.text_classification_file import write_text_classification_file


def test_bundled_dataset_splits_labels_and_inputs():
    splits = TaskSplits.from_dataset("rotten_tomatoes")
    assert (splits.task, splits.size("train"), splits.size("eval"), splits.size("test")) == ("classify", 10246, 1281,
                                                                                            1281)
    assert splits.label_names() == ["fresh", "rotten"]
    texts, labels = splits.fit_inputs("test")
    assert (texts[0], labels[0]) == splits.test[0]
    assert TaskSplits.from_dataset("rotten_tomatoes", seed=1).test != splits.test
    tags = TaskSplits.from_dataset("wnut16")
    assert tags.task == "tag" and tags.label_names()[0] == "O" and "B-person" in tags.label_names()
    words, word_tags = tags.fit_inputs("eval")
    assert len(words) == len(word_tags) == tags.size("eval") and len(words[0]) == len(word_tags[0])
    qa = TaskSplits.from_dataset("squad_fixture")
    assert qa.task == "qa" and qa.label_names() is None and qa.fit_inputs("eval")[1] is None
    with pytest.raises(ValueError, match="Unknown dataset 'imdb'; use one of"):
        TaskSplits.from_dataset("imdb")


def test_files_and_the_checks_name_file_and_line(tmp_path):
    train, dev = str(tmp_path / "train.tsv"), str(tmp_path / "dev.tsv")
    write_text_classification_file(train, ["good film", "bad film", "fine"], ["pos", "neg", "pos"])
    write_text_classification_file(dev, ["great", "awful", "odd"], ["pos", "neg", "neutral"])
    splits = TaskSplits.from_files("classify", train, dev)
    assert splits.label_names() == ["neg", "pos"] and splits.test is None and splits.size("test") == 0
    with pytest.raises(ValueError, match=r"dev.tsv:\d+: label 'neutral' is not among the training labels "
                                         r"\['neg', 'pos'\] \(eval split\)"):
        splits.check_labels(splits.label_names())
    with pytest.raises(ValueError, match="An evaluation file is required \\(--eval_file\\)"):
        TaskSplits.from_files("classify", train, None)
    with pytest.raises(ValueError, match="Unknown task 'summarize'"):
        TaskSplits.from_files("summarize", train, dev)
    with pytest.raises(ValueError, match="The train split is empty"):
        TaskSplits("classify", {**splits.train, "texts": []}, splits.eval).limited()
    one = str(tmp_path / "one.tsv")
    write_text_classification_file(one, ["a", "b"], ["pos", "pos"])
    with pytest.raises(ValueError, match="Classification needs at least 2 labels in the training data"):
        TaskSplits.from_files("classify", one, dev).label_names()
    limited = splits.limited(max_train=2, max_eval=1)
    assert (limited.size("train"), limited.size("eval")) == (2, 1) and splits.size("train") == 3
    for bad in ({"max_train": -1}, {"max_eval": -2}, {"max_train": 1.5}):  # -1 used to drop the last row
        with pytest.raises(ValueError, match=f"{next(iter(bad))} must be an int >= 0"):
            splits.limited(**bad)


def test_tag_labels_outside_training_are_named_by_file_line_and_sentence(tmp_path):
    train = [(["Paris", "is", "big"], ["B-loc", "O", "O"])]
    dev = [(["Bob", "left"], ["B-person", "O"])]
    splits = TaskSplits("tag", train, dev)
    with pytest.raises(ValueError, match=r"eval split: eval sentence 1 has tag\(s\) \['B-person'\], whose entity types "
                                         "never occur in training"):
        splits.check_labels(splits.label_names())
    (tmp_path / "train.conll").write_text("Paris\tB-loc\nis\tO\n\nRome\tB-loc\n", encoding="utf-8")
    (tmp_path / "dev.conll").write_text("-DOCSTART- O\n\nRome\tB-loc\n\n\nBob\tB-person\nleft\tO\n",
                                        encoding="utf-8")
    splits = TaskSplits.from_files("tag", str(tmp_path / "train.conll"), str(tmp_path / "dev.conll"))
    with pytest.raises(ValueError, match=r"dev.conll:6: eval sentence 2 has tag\(s\) \['B-person'\]"):
        splits.limited(10, 10).check_labels(splits.label_names())  # limited() keeps the files' names
