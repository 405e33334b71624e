"""A run killed after an epoch restarts from there (BackupAndRestore), keeping the finished epochs."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.helpers import ROOT


def test_killed_run_resumes_after_its_last_finished_epoch(tmp_path, minilm_dir):
    from bert_keras.data import real_datasets
    from bert_keras.data.text_classification_file import write_text_classification_file

    rows = real_datasets.rotten_tomatoes()["train"][:600]
    write_text_classification_file(str(tmp_path / "train.tsv"), [t for t, _ in rows], [l for _, l in rows])
    write_text_classification_file(str(tmp_path / "dev.tsv"), [t for t, _ in rows[:64]], [l for _, l in rows[:64]])
    model_dir = tmp_path / "model"
    cmd = [sys.executable, "-m", "trainers.finetune", "--verbose=2", "--task=classify", "--config=tiny",
           f"--vocab={minilm_dir}/vocab.txt", f"--train_file={tmp_path / 'train.tsv'}",
           f"--eval_file={tmp_path / 'dev.tsv'}", "--seq_length=64", "--batch_size=8", "--epochs=4",
           f"--model_dir={model_dir}"]
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    history_path = model_dir / "history.json"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not history_path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open(history_path) as f:
        before = json.load(f)
    finished = len(before)
    assert 1 <= finished < 4, "the run must be killed before it ends"
    assert os.path.isdir(model_dir / "backup")
    assert not os.path.exists(model_dir / "metrics.json")

    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    log = again.stdout + again.stderr
    assert f"Epoch {finished + 1}/4" in log and "Epoch 1/4" not in log
    with open(history_path) as f:
        after = json.load(f)
    assert [h["epoch"] for h in after] == [1, 2, 3, 4]
    assert after[:finished] == before
    assert os.path.exists(model_dir / "metrics.json") and not os.path.exists(model_dir / "backup")
