"""`python -m trainers.explain` in a fresh process: a model directory in, explanations.json + report + PNGs out."""

import json
import os
import re
import subprocess
import sys

import keras
import pytest

from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor
from tests.helpers import ROOT


def explain_cli(*args):
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "trainers.explain", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, minilm_tokenizer):
    keras.utils.set_random_seed(7)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    model = BertClassifier(encoder, num_classes=2, labels=["rotten", "fresh"],
                           preprocessor=BertTextPreprocessor(minilm_tokenizer, seq_length=32))
    directory = tmp_path_factory.mktemp("explain") / "model"
    directory.mkdir()
    model.save(str(directory / "model.keras"))
    return str(directory)


def test_explains_texts_and_a_file_into_json_report_and_pictures(model_dir, tmp_path):
    texts_file = tmp_path / "texts.txt"
    texts_file.write_text("Dull and overlong.\n\n<script>alert('x')</script> worth it\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = explain_cli(f"--model_dir={model_dir}", "--text=A gorgeous, witty film.", f"--texts_file={texts_file}",
                       "--steps=16", f"--output={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = strict_json(out / "explanations.json")
    assert [r["text"] for r in records] == ["A gorgeous, witty film.", "Dull and overlong.",
                                            "<script>alert('x')</script> worth it"]
    for r in records:
        assert r["method"] == "integrated_gradients" and r["steps"] == 16 and r["label"] in ("rotten", "fresh")
        assert len(r["tokens"]) == len(r["attributions"]) == len(r["token_start"])
        assert r["completeness_error"] < 0.05
    assert sorted(os.listdir(out)) == ["explanation_0.png", "explanation_1.png", "explanation_2.png",
                                       "explanations.json", "report.html"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?:|(?:src|href)\s*=\s*[\"']?//", page)
    assert "<script>" not in page and "&lt;" in page  # the hostile text is escaped, word by word
    assert "report.html" in proc.stdout and "gorgeous" in proc.stdout


def strict_json(path):
    """JSON as browsers parse it: NaN / Infinity are refused."""
    def refuse(name):
        raise ValueError(f"{path} holds {name}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_rollout_writes_its_map(model_dir, tmp_path):
    proc = explain_cli(f"--model_dir={model_dir}", "--text=A gorgeous film.", "--method=rollout",
                       f"--output={tmp_path}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {"rollout_0.png", "explanation_0.png"} <= set(os.listdir(tmp_path))
    [record] = strict_json(tmp_path / "explanations.json")
    assert record["method"] == "rollout" and record["target_score"] is None and record["label"] in ("rotten", "fresh")
    assert record["tokens"] == ["[CLS]", "a", "gorgeous", "film", ".", "[SEP]"]
    assert abs(sum(record["attributions"]) - 1) < 1e-5  # the [CLS] row of the rollout: a distribution


@pytest.mark.parametrize("args, message", [
    (["--text=x"], "Pass exactly one of --model_dir and --saved_model"),
    (["--model_dir={model_dir}", "--texts_file={bad}"], r"bad\.txt:2: not valid UTF-8"),
    (["--model_dir={model_dir}", "--text=x", "--target=happy"], "one of the class names"),
    (["--model_dir={model_dir}", "--text=x", "--method=rollout", "--steps=8"], "--steps do not apply to --method=rollout"),
])
def test_bad_flags_are_named(model_dir, tmp_path, args, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\ncaf\xe9\n")
    proc = explain_cli(*[a.format(model_dir=model_dir, bad=bad) for a in args], f"--output={tmp_path / 'o'}")
    assert proc.returncode != 0 and re.search(message, proc.stderr), proc.stderr[-2000:]
