"""`python -m trainers.distill` end to end on real reviews: a `tiny` teacher's model dir in, a 1-layer student's model
dir out (with texts the teacher labels), exported and answered by TF Serving's loader in a fresh process as the
student's Keras model answers; and the refusals a user can run into."""

import json
import os

import keras
import numpy as np
import pytest

from bert_keras.data.real_corpora import rotten_tomatoes_plots
from tests.helpers import load_in_fresh_process, real_reviews, run_finetune


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory, rt_files, minilm_dir):
    train, dev = rt_files
    directory = str(tmp_path_factory.mktemp("distill") / "teacher")
    proc = run_finetune(f"--train_file={train}", f"--eval_file={dev}", "--task=classify", "--config=tiny",
                        f"--vocab={os.path.join(minilm_dir, 'vocab.txt')}", "--seq_length=48", "--epochs=2",
                        "--batch_size=32", "--learning_rate=1e-3", f"--model_dir={directory}",
                        "--mixed_precision=float32")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return directory


def test_student_dir_exports_and_serves_as_its_keras_model(teacher_dir, rt_files, tmp_path):
    from bert_keras.export.saved_model import export_saved_model

    train, dev = rt_files
    unlabeled = tmp_path / "plots.txt"
    plots = [" ".join(text.split()) for text in list(rotten_tomatoes_plots())[:40]]  # one text a line
    unlabeled.write_text("\n".join(plots) + "\n", encoding="utf-8")
    student_dir = str(tmp_path / "student")
    proc = run_finetune(f"--teacher_dir={teacher_dir}", f"--train_file={train}", f"--eval_file={dev}",
                        "--student_layers=1", "--epochs=1", "--learning_rate=1e-3", "--temperature=2", "--alpha=0.5",
                        "--hidden_weight=1", "--attention_weight=0.5", f"--unlabeled_file={unlabeled}", f"--model_dir={student_dir}", "--mixed_precision=float32",
                        module="trainers.distill")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(student_dir, "metrics.json")) as f:
        metrics = json.load(f)
    made = metrics["distillation"]
    assert (made["init"], made["teacher_layers"], made["student_layers"]) == ("teacher_layers", [0], 1)
    assert made["unlabeled_examples"] == 40 and made["parameters"] < made["teacher_parameters"]
    assert (made["hidden_weight"], made["attention_weight"], made["layer_map"]) == (1.0, 0.5, [1])
    assert metrics["train_examples"] == 192 and 0.0 <= metrics["accuracy"] <= 1.0
    with open(os.path.join(student_dir, "label_map.json")) as f, open(os.path.join(teacher_dir, "label_map.json")) as g:
        mine, theirs = json.load(f), json.load(g)
    assert (mine["task"], mine["labels"], mine["seq_length"]) == (theirs["task"], theirs["labels"], 48)
    student = keras.saving.load_model(os.path.join(student_dir, "model.keras"), safe_mode=True)
    assert student.encoder.num_layers == 1
    texts, _ = real_reviews(6, seed=9)
    path = export_saved_model(student_dir, str(tmp_path / "export"), explain_steps=0)
    served = load_in_fresh_process(path, {"serving_default": {"text": texts}}, tmp_path)
    np.testing.assert_allclose(served["tf1/serving_default/probabilities"], student.predict(texts, verbose=0),
                               atol=1e-5)


@pytest.mark.parametrize("args, message", [
    ({"teacher_dir": "/nonexistent"}, "is not a fine-tuned model dir"),
    ({"student_layers": 1, "student_config": "tiny"}, "exactly one of student_layers, student_config"),
    ({"student_layers": 5}, "not smaller than its teacher"),
    ({"student_layers": 1, "unlabeled_file": "/nonexistent.txt"}, "no such file, and not a bundled corpus"),
    ({"student_config": "mini", "attention_weight": 1.0}, "needs as many heads in the student as in the teacher"),
    ({"student_layers": 1, "hidden_weight": -1.0}, "hidden_weight must be a number >= 0"),
])
def test_bad_settings_are_named(teacher_dir, rt_files, tmp_path, args, message):
    """In this process (the flags map one to one onto `DistillConfig`; the CLI's own wiring is the test above)."""
    from trainers.distill import DistillConfig, run

    train, dev = rt_files
    cfg = DistillConfig(model_dir=str(tmp_path / "out"), teacher_dir=teacher_dir, train_file=train, eval_file=dev,
                        mixed_precision="float32", verbose=0, **{k: v for k, v in args.items() if k != "teacher_dir"})
    if "teacher_dir" in args:
        cfg.teacher_dir = args["teacher_dir"]
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        run(cfg)
