"""Fine-tuning under MirroredStrategy (2 logical CPU devices) and MultiWorkerMirroredStrategy (2 processes)."""

import json
import os

import keras
import numpy as np

from tests.helpers import run_finetune, run_two_workers


def _common(train, dev, minilm_dir):
    return [f"--train_file={train}", f"--eval_file={dev}", "--task=classify", "--config=tiny",
            f"--vocab={minilm_dir}/vocab.txt", "--seq_length=32", "--batch_size=32", "--epochs=2",
            "--dropout=0.0", "--learning_rate=5e-4", "--seed=3", "--noshuffle"]


def _losses(model_dir):
    with open(os.path.join(model_dir, "history.json")) as f:
        history = json.load(f)
    return [h["loss"] for h in history], [h["val_loss"] for h in history]


def test_mirrored_on_two_cpu_devices_matches_default(tmp_path, rt_files, minilm_dir):
    train, dev = rt_files
    default = run_finetune(*_common(train, dev, minilm_dir), f"--model_dir={tmp_path / 'default'}")
    assert default.returncode == 0, default.stderr[-3000:]
    mirrored = run_finetune(*_common(train, dev, minilm_dir), f"--model_dir={tmp_path / 'mirrored'}",
                            "--strategy=mirrored", "--num_cpu_devices=2")
    assert mirrored.returncode == 0, mirrored.stderr[-3000:]
    with open(tmp_path / "mirrored" / "metrics.json") as f:
        assert json.load(f)["replicas"] == 2
    loss_d, val_d = _losses(tmp_path / "default")
    loss_m, val_m = _losses(tmp_path / "mirrored")
    # Same example order (no shuffle), no dropout: the two-replica run is the single-device run.
    np.testing.assert_allclose(loss_m, loss_d, rtol=1e-5)
    np.testing.assert_allclose(val_m, val_d, rtol=1e-5)
    # Whole-document batches hold a varying number of windows per text: refused on more than one replica.
    documents = run_finetune(*_common(train, dev, minilm_dir), f"--model_dir={tmp_path / 'documents'}",
                             "--strategy=mirrored", "--num_cpu_devices=2", "--long_document=windows",
                             "--window_training=documents")
    assert documents.returncode != 0 and "tf.distribute cannot split across 2 replicas" in documents.stderr, \
        documents.stderr[-3000:]


def test_multi_worker_two_processes(tmp_path, rt_files, minilm_dir):
    train, dev = rt_files
    model_dir = tmp_path / "mw"
    run_two_workers("trainers.finetune", ["--verbose=2", *_common(train, dev, minilm_dir), f"--model_dir={model_dir}"])
    with open(model_dir / "metrics.json") as f:  # the chief reports
        assert json.load(f)["replicas"] == 2
    assert not os.path.exists(model_dir / "workers" / "worker_1" / "metrics.json")
    chief = keras.saving.load_model(str(model_dir / "model.keras"), safe_mode=True)
    worker = keras.saving.load_model(str(model_dir / "workers" / "worker_1" / "model.keras"), safe_mode=True)
    for a, b in zip(chief.get_weights(), worker.get_weights()):
        np.testing.assert_array_equal(a, b)
    loss, _ = _losses(model_dir)
    assert len(loss) == 2 and loss[1] < loss[0]
