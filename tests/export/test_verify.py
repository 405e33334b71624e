"""`python -m export.verify` end to end on a small export: the table, the JSON report and its refusals."""

import json
import os
import subprocess
import sys

import pytest

from bert_keras.data import real_datasets
from bert_keras.export.saved_model import read_metadata, sample_texts
from bert_keras.export.verify import tflite_set, verify
from tests.export.conftest import write_model_dir
from tests.helpers import ROOT


def test_verify_cli_writes_the_report(classifier_dir, classifier_export, tmp_path):
    export_dir, _ = classifier_export
    output = str(tmp_path / "parity.json")  # not beside the shared export, which other tests list
    proc = subprocess.run([sys.executable, "-m", "export.verify", f"--model_dir={classifier_dir}",
                           f"--export_dir={export_dir}", "--examples=40", f"--output={output}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| SavedModel, TF1 session loader (Serving) |" in proc.stdout
    assert f"Wrote {output}" in proc.stdout and not os.path.exists(os.path.join(export_dir, "parity_v1.json"))
    with open(output) as f:
        report = json.load(f)
    assert report["examples"] == 40 and report["task"] == "classify"
    assert [row["runtime"] for row in report["rows"]] == [
        "Keras (model.keras, eager call)", "SavedModel, tf.saved_model.load", "SavedModel, TF1 session loader (Serving)"]
    for row in report["rows"]:
        assert row["max_abs_diff"] <= 1e-5 and row["argmax_agreement"] == 1.0 and row["latency_ms_batch1"] > 0


def test_report_texts_are_real_and_refusals_are_clear(tagger_export, tmp_path):
    texts = sample_texts({"dataset": "wnut16"}, "test", limit=5)
    assert len(texts) == 5 and all(isinstance(t, str) and t for t in texts)
    with pytest.raises(ValueError, match="pass --texts_file"):
        sample_texts({"dataset": None}, "test")
    (tmp_path / "texts.tsv").write_text("first text\tpos\n\nsecond\n", encoding="utf-8")
    assert sample_texts({}, "test", str(tmp_path / "texts.tsv")) == ["first text", "second"]
    with pytest.raises(FileNotFoundError, match="--calibration_file: .*missing.txt does not exist"):
        sample_texts({}, "train", str(tmp_path / "missing.txt"), flag="--calibration_file")
    metadata = read_metadata(tagger_export)
    assert {inputs for _, inputs, _ in tflite_set(metadata["task"])} == {"ids"}
    with pytest.raises(FileNotFoundError, match="not a SavedModel written by export.saved_model"):
        read_metadata(str(tmp_path))


def test_verify_compares_a_windowed_export_with_what_predict_reads(windowed_classifier, minilm_tokenizer, tmp_path):
    import keras
    import numpy as np

    model, path = windowed_classifier
    model_dir = write_model_dir(str(tmp_path / "model"), model, minilm_tokenizer,
                                {"task": "classify", "labels": list(model.labels), "seq_length": 34, "dataset": None})
    articles = [t for t, _ in real_datasets.bbc_news()["test"][:10]]
    report = verify(model_dir, path, texts=articles, batch_size=4)
    assert [row["runtime"] for row in report["rows"]] == [
        "Keras (model.keras, predict: windows)", "SavedModel, tf.saved_model.load",
        "SavedModel, TF1 session loader (Serving)"]
    for row in report["rows"]:
        assert row["max_abs_diff"] <= 1e-5 and row["argmax_agreement"] == 1.0, row
    # Against the first 34 pieces alone (what the report compared with before), the windows' answers differ by
    # several times the tolerance above (this untrained model's probabilities are all near a third).
    truncated = keras.ops.softmax(model(minilm_tokenizer(articles, seq_length=34))).numpy()
    assert np.abs(truncated - model.predict(articles, verbose=0)).max() > 5e-5
