"""`read_model_dir`: the one reader of a fine-tuned model directory (export.saved_model, trainers.distill)."""

import json

import pytest

from bert_keras.model_dir import read_model_dir


def _model_dir(tmp_path, label_map):
    (tmp_path / "model.keras").write_bytes(b"")
    (tmp_path / "label_map.json").write_text(label_map, encoding="utf-8")
    return str(tmp_path)


def test_reads_and_checks_the_label_map(tmp_path):
    good = {"task": "tag", "labels": ["O", "B-PER", "I-PER"], "seq_length": 64}
    assert read_model_dir(_model_dir(tmp_path, json.dumps(good))) == good
    with pytest.raises(ValueError, match=r"label_map.json: task 'tag'; distillation takes classify, regress"):
        read_model_dir(str(tmp_path), ("classify", "regress"), "--teacher_dir", "distillation")
    _model_dir(tmp_path, '{"task": "classify",\n "labels": [')
    with pytest.raises(ValueError, match=r"label_map.json:2: not valid JSON"):
        read_model_dir(str(tmp_path))
    _model_dir(tmp_path, json.dumps({"task": "summarize", "seq_length": 64}))
    with pytest.raises(ValueError, match="unknown task 'summarize'"):
        read_model_dir(str(tmp_path))
    _model_dir(tmp_path, json.dumps({"task": "classify"}))
    with pytest.raises(ValueError, match="no 'seq_length'"):
        read_model_dir(str(tmp_path))
    (tmp_path / "model.keras").unlink()
    with pytest.raises(FileNotFoundError, match=r"--teacher_dir '.*' is not a fine-tuned model directory"):
        read_model_dir(str(tmp_path), flag="--teacher_dir")
