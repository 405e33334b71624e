"""Builders and runners shared by tests (the one place for them: test modules and conftests import from here)."""

import json
import os
import random
import socket
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_encoder(**overrides):
    from bert_keras import BertEncoder

    config = dict(vocab_size=64, hidden_dim=16, num_layers=2, num_heads=2, intermediate_dim=32,
                  max_sequence_length=24, dropout=0.0, attention_dropout=0.0)
    config.update(overrides)
    return BertEncoder(**config)


def random_features(batch=2, seq=10, vocab=64, seed=0, pad_from=None):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, seq), "int32")
    if pad_from is not None:
        mask[:, pad_from:] = 0
    return {
        "input_word_ids": rng.integers(1, vocab, (batch, seq)).astype("int32") * mask,
        "input_mask": mask,
        "input_type_ids": (rng.random((batch, seq)) > 0.5).astype("int32") * mask,
    }


def real_reviews(n, seed=0):
    """`n` real Rotten Tomatoes reviews with their labels ("fresh" / "rotten"), a fixed seeded sample."""
    from bert_keras.data import real_corpora

    rows = list(real_corpora.rotten_tomatoes())
    random.Random(seed).shuffle(rows)
    return [text for text, _ in rows[:n]], [label for _, label in rows[:n]]


def real_sentences(per_source=500, seed=0):
    """{source: [sentences]} drawn from Rotten Tomatoes, BBC News, W-NUT 2016 and People's Daily."""
    from bert_keras.data import real_corpora

    rng = random.Random(seed)

    def sample(items):
        items = list(items)
        rng.shuffle(items)
        return items[:per_source]

    return {
        "rotten_tomatoes": sample(text for text, _ in real_corpora.rotten_tomatoes()),
        "bbc_news": sample(p for _, _, paragraphs in real_corpora.bbc_news() for p in paragraphs),
        "wnut16": sample(" ".join(tokens) for tokens, _ in real_corpora.wnut16()),
        "peoples_daily": sample("".join(word for word, _ in para) for para in real_corpora.peoples_daily()),
    }


def load_in_fresh_process(path, feeds, tmp_path):
    """Every signature's outputs, as TF Serving's loader (tf1/...) and tf.saved_model.load (tf2/...) give them."""
    with open(tmp_path / "feeds.json", "w", encoding="utf-8") as f:
        json.dump(feeds, f, ensure_ascii=False)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "export", "load_in_fresh_process.py"), path,
                           str(tmp_path / "feeds.json"), str(tmp_path / "out.npz")],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(tmp_path / "out.npz")


def run_finetune(*args, env=None, timeout=600, module="trainers.finetune"):
    """Runs `python -m trainers.finetune` (or another trainer `module`) in a fresh process; returns the
    CompletedProcess."""
    full_env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, "--verbose=2", *args], cwd=ROOT,
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


def served_entities(out, row, prefix="tf1/serving_default/"):
    """Row `row`'s entities from a tagging export's outputs (as `load_in_fresh_process` returns them), in the form
    `BertTokenClassifier.predict` gives: [{"type", "text", "start", "end"}]."""
    return [{"type": out[prefix + "entity_type"][row][j].decode("utf-8"),
             "text": out[prefix + "entity_text"][row][j].decode("utf-8"),
             "start": int(out[prefix + "entity_start"][row][j]), "end": int(out[prefix + "entity_end"][row][j])}
            for j in range(out[prefix + "num_entities"][row])]
