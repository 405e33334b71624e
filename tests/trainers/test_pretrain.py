"""trainers.build_vocab -> trainers.pretrain -> trainers.finetune on real BBC text, in fresh processes; resume after
a kill; static TFRecords; bad input; 2-worker MultiWorkerMirroredStrategy against a single process."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.helpers import ROOT, run_two_workers

ENV = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}


def _run(module, *args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env={**ENV, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """120 real BBC articles in Google's format, plus a one-sentence document and an over-long line."""
    from bert_keras.data.pretraining_corpus import bbc_news_documents, write_google_format

    d = tmp_path_factory.mktemp("corpus")
    documents = bbc_news_documents()[::18][:120]
    documents.append(["A document of one sentence only."])
    documents.append([" ".join(documents[0]) * 2, "The end."])  # a line far longer than seq_length
    write_google_format(documents, str(d / "bbc.txt"))
    vocab = _run("trainers.build_vocab", f"--corpus={d / 'bbc.txt'}", "--vocab_size=3000", f"--output={d / 'vocab.txt'}")
    assert vocab.returncode == 0, vocab.stderr[-3000:]
    summary = json.loads(vocab.stdout[vocab.stdout.index("{"):])
    assert summary["vocab_size"] > 1500 and summary["unk_rate"] < 0.01 and summary["cjk_single_characters"] == 0
    with open(d / "vocab.txt") as f:
        assert f.read().split("\n")[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return str(d / "bbc.txt"), str(d / "vocab.txt")


COMMON = ["--config=tiny", "--seq_length=64", "--max_predictions_per_seq=10", "--batch_size=16",
          "--learning_rate=1e-3", "--warmup_steps=5", "--max_position_embeddings=128"]


def test_pretrain_resumes_after_a_kill_and_its_model_dir_is_a_checkpoint(corpus, tmp_path, rt_files):
    text, vocab = corpus
    model_dir = tmp_path / "pretrained"
    cmd = [sys.executable, "-m", "trainers.pretrain", f"--corpus={text}", f"--vocab={vocab}", *COMMON,
           "--num_train_steps=60", "--save_checkpoints_steps=20", "--eval_fraction=0.05",
           f"--model_dir={model_dir}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (model_dir / "history.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open(model_dir / "history.json") as f:
        finished = len(json.load(f))
    assert 1 <= finished < 3, "the run must be killed before it ends"
    assert not (model_dir / "metrics.json").exists()

    again = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    log = again.stdout + again.stderr
    assert f"Epoch {finished + 1}/3" in log and "Epoch 1/3" not in log
    assert f"Resuming after step {finished * 20}" in log
    with open(model_dir / "metrics.json") as f:
        metrics = json.load(f)
    for key in ("mlm_loss", "mlm_accuracy", "nsp_accuracy"):
        assert isinstance(metrics[key], float)
    assert metrics["steps"] == 60 and metrics["evaluated_on"] == "held-out documents"
    with open(model_dir / "history.json") as f:
        history = json.load(f)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["mlm_loss"] < history[0]["mlm_loss"]
    with open(model_dir / "data_stats.json") as f:
        stats = json.load(f)
    assert stats["train"]["single_sentence_documents"] + stats["eval"]["single_sentence_documents"] == 1
    # Real BBC sentences over 61 tokens, and the planted over-long line, are cut into pieces, not dropped.
    assert stats["train"]["long_sentences_split"] + stats["eval"]["long_sentences_split"] >= 2
    assert abs(stats["masking"]["selected_per_real_token"] - 0.15) < 0.01
    assert "Skipped 1 documents of a single sentence" in log
    names = sorted(os.listdir(model_dir))
    assert {"bert_config.json", "checkpoint", "vocab.txt", "tokenizer_config.json", "pretraining_curves.png",
            "bert_model.ckpt-60.index", "logs"} <= set(names) and "backup" not in names

    # The directory is a checkpoint: encoder and heads load, and fine-tuning starts from it.
    from bert_keras import BertEncoder, BertPretrainer

    encoder = BertEncoder.from_pretrained(str(model_dir))
    pretrainer = BertPretrainer.from_pretrained(str(model_dir))
    for a, b in zip(encoder.get_weights(), pretrainer.encoder.get_weights()):
        np.testing.assert_array_equal(a, b)
    train, dev = rt_files
    tuned = _run("trainers.finetune", "--verbose=2", "--task=classify", f"--train_file={train}",
                 f"--eval_file={dev}", f"--init_checkpoint={model_dir}", "--seq_length=64", "--epochs=1",
                 f"--model_dir={tmp_path / 'tuned'}")
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    with open(tmp_path / "tuned" / "label_map.json") as f:
        assert json.load(f)["init_checkpoint"] == str(model_dir)


def test_static_records_from_create_pretraining_data_train(corpus, tmp_path):
    text, vocab = corpus
    made = _run("trainers.create_pretraining_data", f"--corpus={text}", f"--vocab={vocab}",
                f"--output={tmp_path / 'data.tfrecord'}", "--max_seq_length=64", "--max_predictions_per_seq=10",
                "--dupe_factor=2")
    assert made.returncode == 0, made.stderr[-3000:]
    summary = json.loads(made.stdout[made.stdout.index("{"):])
    assert len(summary["outputs"]) == 2 and summary["instances"] > 500
    assert abs(summary["selected_per_real_token"] - 0.15) < 0.01 and summary["specials_selected"] == 0
    assert "Pass 2 / 2" in made.stderr and os.path.exists(tmp_path / "data.stats.json")
    trained = _run("trainers.pretrain", f"--input_records={tmp_path}/data-*.tfrecord", f"--vocab={vocab}", *COMMON,
                   "--num_train_steps=10", "--save_checkpoints_steps=10", f"--model_dir={tmp_path / 'm'}")
    assert trained.returncode == 0, trained.stderr[-3000:]
    with open(tmp_path / "m" / "metrics.json") as f:
        assert json.load(f)["evaluated_on"] == "training batches"


def test_bad_input_gets_clear_errors(tmp_path, corpus):
    from trainers.pretrain import PretrainConfig, run

    text, vocab = corpus
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n   \n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no text"):
        run(PretrainConfig(model_dir=str(tmp_path / "a"), corpus=str(empty), vocab=vocab))
    no_mask = tmp_path / "vocab.txt"
    with open(vocab) as f:
        no_mask.write_text("".join(line for line in f if line.strip() != "[MASK]"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"lacks \['\[MASK\]'\].*build_vocab"):
        run(PretrainConfig(model_dir=str(tmp_path / "b"), corpus=text, vocab=str(no_mask)))
    with pytest.raises(ValueError, match="--corpus"):
        run(PretrainConfig(model_dir=str(tmp_path / "c"), vocab=vocab))
    bert_config = tmp_path / "bert_config.json"
    bert_config.write_text(json.dumps({"vocab_size": 30522, "hidden_size": 64, "num_hidden_layers": 1,
                                       "num_attention_heads": 2, "intermediate_size": 128}), encoding="utf-8")
    with pytest.raises(ValueError, match="vocab_size is 30522 but the vocab has"):
        run(PretrainConfig(model_dir=str(tmp_path / "e"), corpus=text, vocab=vocab, bert_config=str(bert_config),
                           eval_fraction=0.0))
    one_doc = tmp_path / "one.txt"
    one_doc.write_text("Only one document.\nWith two sentences.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="at least 2 documents"):
        run(PretrainConfig(model_dir=str(tmp_path / "d"), corpus=str(one_doc), vocab=vocab, eval_fraction=0.0))


def test_two_workers_match_a_single_process(corpus, tmp_path):
    text, vocab = corpus
    args = [f"--corpus={text}", f"--vocab={vocab}", *COMMON, "--num_train_steps=20", "--save_checkpoints_steps=10",
            "--eval_fraction=0", "--dropout=0", "--seed=7", "--verbose=2"]
    single = _run("trainers.pretrain", *args, f"--model_dir={tmp_path / 'single'}")
    assert single.returncode == 0, single.stderr[-3000:]
    run_two_workers("trainers.pretrain", [*args, f"--model_dir={tmp_path / 'mw'}"])
    with open(tmp_path / "mw" / "metrics.json") as f:
        assert json.load(f)["replicas"] == 2
    histories = {}
    for name in ("single", "mw"):
        with open(tmp_path / name / "history.json") as f:
            histories[name] = json.load(f)
    for key in ("mlm_loss", "nsp_loss"):
        want = [h[key] for h in histories["single"]]
        got = [h[key] for h in histories["mw"]]
        # The same global batches and masks; MLM averages per replica, then across replicas (Keras), so the
        # two differ only by how masked tokens split between the halves of each batch.
        np.testing.assert_allclose(got, want, rtol=1e-2)
    from bert_keras import BertEncoder

    # Synchronous training: both workers end with identical weights (each writes its own checkpoint).
    chief = BertEncoder.from_pretrained(str(tmp_path / "mw")).get_weights()
    worker = BertEncoder.from_pretrained(str(tmp_path / "mw" / "workers" / "worker_1")).get_weights()
    for x, y in zip(chief, worker):
        np.testing.assert_array_equal(x, y)
