"""Keras callbacks for the trainers: atomic best-model checkpoints, an epoch history that survives resumes, and
the training-curve plot."""

import json
import os
import time

import keras

from bert_keras.data.utf8_file import atomic_write_json


def progress_logger(label, logger):
    """A callable(done, total) that logs `label` progress at most every 10% (long tokenization, writing)."""
    state = {"next": 0.0, "start": time.time()}

    def report(done, total):
        if total and (done / total >= state["next"] or done == total):
            logger.info("%s: %d / %d (%.0f%%, %.0f s)", label, done, total, 100 * done / total,
                        time.time() - state["start"])
            state["next"] = done / total + 0.1
    return report


class BestWeights(keras.callbacks.Callback):
    """Saves the weights whenever `monitor` improves, written aside then renamed (never a half-written file).

    The best value so far is stored beside the weights, so a resumed run (`resume=True`) keeps comparing
    against it; a new run into the same directory starts afresh (an earlier, finished run's best weights
    would otherwise be loaded as this run's).
    """

    def __init__(self, directory, monitor="val_loss", mode="min", resume=True):
        super().__init__()
        self.path = os.path.join(directory, "best.weights.h5")
        self.state_path = os.path.join(directory, "best.json")
        self.monitor, self.mode = monitor, mode
        self.best = None
        if not resume:
            for path in (self.path, self.state_path):
                if os.path.exists(path):
                    os.remove(path)
        if os.path.exists(self.state_path):
            with open(self.state_path, encoding="utf-8") as f:
                self.best = json.load(f)["value"]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        if better:
            self.best = float(value)
            tmp = self.path + ".tmp.weights.h5"
            self.model.save_weights(tmp)
            os.replace(tmp, self.path)
            atomic_write_json(self.state_path, {"monitor": self.monitor, "value": self.best, "epoch": epoch + 1})


class EpochHistory(keras.callbacks.Callback):
    """Appends each epoch's logs to `history.json` (kept across resumed runs; `resume=False` starts it anew)."""

    def __init__(self, directory, resume=True):
        super().__init__()
        self.path = os.path.join(directory, "history.json")
        if not resume and os.path.exists(self.path):
            os.remove(self.path)

    def load(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8") as f:
            return json.load(f)

    def on_epoch_end(self, epoch, logs=None):
        history = [h for h in self.load() if h["epoch"] != epoch + 1]
        history.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})
        atomic_write_json(self.path, sorted(history, key=lambda h: h["epoch"]))


def plot_history(history, path, title):
    """Draws loss (and any accuracy) per epoch to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    keys = sorted({k for h in history for k in h if k != "epoch" and not k.startswith("learning_rate")})
    loss_keys = [k for k in keys if "loss" in k]
    other = [k for k in keys if k not in loss_keys]
    fig, axes = plt.subplots(1, 2 if other else 1, figsize=(10 if other else 5, 3.5), squeeze=False)
    for ax, group in zip(axes[0], [loss_keys, other]):
        for key in group:
            ax.plot(epochs, [h.get(key) for h in history], marker="o", label=key)
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    save_figure(fig, path)


def save_figure(fig, path):
    """Saves a matplotlib figure to a PNG atomically and closes it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def training_callbacks(out_dir, checkpointing, double_checkpoint=False):
    """The callbacks every trainer runs: a resumable backup (`BackupAndRestore` in `out_dir/backup`), the
    trainer's own `checkpointing(resume)` callbacks, the per-epoch history and TensorBoard logs.

    A backup means an interrupted run to resume (`resume=True`); without one this is a new run, even in a used
    directory. Returns (callbacks, resume).
    """
    backup = os.path.join(out_dir, "backup")
    resume = os.path.isdir(backup)
    return [keras.callbacks.BackupAndRestore(backup, double_checkpoint=double_checkpoint), *checkpointing(resume),
            EpochHistory(out_dir, resume=resume),
            keras.callbacks.TensorBoard(os.path.join(out_dir, "logs"), update_freq="epoch")], resume
