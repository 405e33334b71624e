import json
import os
import socket
import subprocess
import sys

import pytest

from bert_keras.data import real_datasets
from bert_keras.data.conll import write_conll
from bert_keras.data.text_classification_file import write_text_classification_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def run_finetune(*args, env=None, timeout=600):
    """Runs `python -m trainers.finetune` in a fresh process; returns the CompletedProcess."""
    full_env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", "trainers.finetune", "--verbose=2", *args], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_two_workers(module, args, timeout=600):
    """Runs `python -m module args` as 2 MultiWorkerMirroredStrategy workers on 127.0.0.1; asserts both exit 0."""
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    procs = []
    for index in range(2):
        env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen([sys.executable, "-m", module, *args, "--strategy=multi_worker"], cwd=ROOT,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-2000:] for o in outputs)
