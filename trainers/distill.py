"""Distils a fine-tuned classifier (a `trainers.finetune` model dir) into a smaller student with `model.fit`.

    python -m trainers.distill --teacher_dir=runs/rt_teacher --dataset=rotten_tomatoes --student_layers=3 \
        --model_dir=runs/rt_student
    python -m trainers.distill --teacher_dir=... --train_file=train.tsv --eval_file=dev.tsv --student_config=mini \
        --unlabeled_file=more_texts.txt --model_dir=...

The student is `--student_layers N` (the teacher's width, every k-th of its blocks with its embeddings, pooler and
head, as DistilBERT starts), `--student_config NAME` (a named size, random) or `--student_checkpoint DIR` (a
pretrained encoder of the same vocabulary). The loss is Keras's distillation (`bert_keras.distillation`):
`--alpha` x cross-entropy on the labels + (1 - `--alpha`) x T^2 KL(teacher || student) at `--temperature`
(regression: the MSE to the teacher's score), plus `--hidden_weight` x the hidden-state MSE and `--attention_weight`
x the attention KL of mapped layers (TinyBERT, MiniLM). `--unlabeled_file` / `--unlabeled_dataset` add texts that the
teacher labels. Data flags, strategies, resume and outputs are `trainers.finetune`'s: the student's `--model_dir`
is a model dir that `export.saved_model`, `export.tflite`, `export.verify` and `trainers.explain` take as they are;
its metrics.json and label_map.json also say how the student was made (`distillation`).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dataclasses  # noqa: E402
import time  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

import bert_keras  # noqa: E402,F401  (sets the oneDNN switch before TensorFlow loads)
from trainers.run_config import RunConfig, main_for  # noqa: E402


@dataclasses.dataclass
class DistillConfig(RunConfig):
    """The flags of this program (`RunConfig` holds those every trainer shares; `seq_length` 0 = the teacher's)."""

    teacher_dir: str = None
    task: str = None
    train_file: str = None
    eval_file: str = None
    test_file: str = None
    dataset: str = None
    max_train_examples: int = 0
    max_eval_examples: int = 0
    split_seed: int = None
    epochs: int = 3
    warmup_ratio: float = 0.1
    shuffle: bool = True
    student_layers: int = 0
    student_config: str = None
    student_checkpoint: str = None
    temperature: float = 2.0
    alpha: float = 0.5
    hidden_weight: float = 0.0
    attention_weight: float = 0.0
    unlabeled_file: str = None
    unlabeled_dataset: str = None
    max_unlabeled_examples: int = 0
    learning_rate: float = 1e-4
    seq_length: int = 0


def run(cfg):
    """Distils as configured; returns the student's metrics (also in its metrics.json) on the chief."""
    import keras

    from bert_keras.data.unlabeled_texts import unlabeled_texts
    from bert_keras.distillation import BertDistiller, student_from_teacher
    from bert_keras.model_dir import read_model_dir
    from trainers import callbacks as cb
    from trainers.finetune import task_splits, write_model_dir
    from bert_keras.distribute import split_cpu
    from trainers.strategy import set_up

    split_cpu(cfg.num_cpu_devices)
    strategy, is_chief, _, out_dir = set_up(cfg)
    info = read_model_dir(cfg.teacher_dir, ("classify", "regress"), "--teacher_dir", "distillation")
    # Without --split_seed, the teacher's split: another seed's test set would hold the teacher's training reviews.
    split_seed = cfg.split_seed if cfg.split_seed is not None or not cfg.dataset else info.get("split_seed")
    cfg = dataclasses.replace(cfg, task=cfg.task or info["task"], seq_length=cfg.seq_length or int(info["seq_length"]),
                              init_checkpoint=cfg.teacher_dir, split_seed=split_seed)
    if cfg.task != info["task"]:
        raise ValueError(f"--task={cfg.task} but the teacher in {cfg.teacher_dir} was trained for {info['task']}.")
    splits = task_splits(cfg)
    if splits.task != info["task"]:
        raise ValueError(f"The data is a {splits.task} task and the teacher's is {info['task']}.")
    if info.get("labels"):
        splits.check_labels(info["labels"])
    extra_texts = []
    for source in (cfg.unlabeled_file, cfg.unlabeled_dataset):
        if source:
            extra_texts += unlabeled_texts(source, cfg.max_unlabeled_examples)
    train_x, train_y = splits.fit_inputs("train")
    eval_x, eval_y = splits.fit_inputs("eval")

    with strategy.scope():
        teacher = keras.saving.load_model(os.path.join(cfg.teacher_dir, "model.keras"), safe_mode=True)
        if teacher.preprocessor.seq_length != cfg.seq_length:
            from bert_keras.preprocessing import BertTextPreprocessor

            teacher.preprocessor = BertTextPreprocessor.from_config(
                {**teacher.preprocessor.get_config(), "seq_length": cfg.seq_length})
        student, made = student_from_teacher(teacher, student_layers=cfg.student_layers or None,
                                             student_config=cfg.student_config,
                                             student_checkpoint=cfg.student_checkpoint, dropout=cfg.dropout,
                                             precision=cfg.mixed_precision)
        distiller = BertDistiller(teacher, student, temperature=cfg.temperature, alpha=cfg.alpha,
                                  hidden_weight=cfg.hidden_weight, attention_weight=cfg.attention_weight)
        distiller.compile(learning_rate=cfg.learning_rate, warmup_ratio=cfg.warmup_ratio,
                          weight_decay=cfg.weight_decay, jit_compile=cfg.jit_compile,
                          steps_per_execution=cfg.steps_per_execution)
    callbacks, _ = cb.training_callbacks(out_dir, lambda resume: [cb.BestWeights(out_dir, resume=resume)])
    start = time.time()
    distiller.fit(train_x, train_y, unlabeled=extra_texts or None, batch_size=cfg.batch_size, epochs=cfg.epochs,
                  validation_data=(eval_x, eval_y), callbacks=callbacks, shuffle=cfg.shuffle, verbose=cfg.verbose)
    train_seconds = time.time() - start
    best = os.path.join(out_dir, "best.weights.h5")
    if os.path.exists(best):
        distiller.load_weights(best)
    made.update(teacher_dir=os.path.abspath(cfg.teacher_dir), temperature=cfg.temperature, alpha=cfg.alpha,
                hidden_weight=cfg.hidden_weight, attention_weight=cfg.attention_weight,
                layer_map=distiller.layer_map if distiller.uses_layer_losses else None,
                unlabeled_examples=len(extra_texts))
    return write_model_dir(distiller.student, out_dir, cfg, splits, student.preprocessor.tokenizer, is_chief,
                           strategy, train_seconds, extra={"distillation": made})


FLAGS = flags.FLAGS


def define_flags():
    """Defines the CLI flags (only when run as a program)."""
    from bert_keras.data.unlabeled_texts import BUNDLED_UNLABELED
    from trainers.strategy import define_flags as strategy_flags

    d = DistillConfig(model_dir="")
    flags.DEFINE_string("teacher_dir", None, "The teacher: a trainers.finetune --model_dir (classify or regress).",
                        required=True)
    flags.DEFINE_string("model_dir", None, "Output directory: the student's model dir.", required=True)
    flags.DEFINE_enum("task", None, ["classify", "regress"], "Default: the teacher's.")
    flags.DEFINE_string("train_file", None, "TSV/CSV of texts and labels (as trainers.finetune).")
    flags.DEFINE_string("eval_file", None, "Same format; selects the best epoch and gives metrics.json.")
    flags.DEFINE_string("test_file", None, "Optional held-out file, reported under metrics.json's 'test'.")
    flags.DEFINE_string("dataset", None, "A bundled real dataset instead of files (rotten_tomatoes, bbc_news, ...).")
    flags.DEFINE_integer("max_train_examples", 0, "Use at most this many training examples (0: all).",
                         lower_bound=0)
    flags.DEFINE_integer("max_eval_examples", 0, "Use at most this many eval/test examples (0: all).",
                         lower_bound=0)
    flags.DEFINE_integer("split_seed", None, "--dataset only: seed of the split (default: the teacher's, from its "
                         "label_map.json; for older teachers, --seed).")
    flags.DEFINE_integer("student_layers", 0, "Student = the teacher's width with N of its blocks (every k-th).")
    flags.DEFINE_string("student_config", None, "Student = a named size (tiny, mini, small, ...), random init.")
    flags.DEFINE_string("student_checkpoint", None, "Student = a pretrained checkpoint with the teacher's vocab.")
    flags.DEFINE_float("temperature", d.temperature, "Soft-target temperature T (the KL term is scaled by T^2).")
    flags.DEFINE_float("alpha", d.alpha, "Weight of the label loss; 1 - alpha goes to the distillation loss.")
    flags.DEFINE_float("hidden_weight", d.hidden_weight, "Weight of the hidden-state MSE (TinyBERT; student block i "
                       "<- teacher block (i+1)*T/S-1, a learned map when widths differ); 0: off.")
    flags.DEFINE_float("attention_weight", d.attention_weight, "Weight of the attention KL on the same blocks "
                       "(MiniLM; same number of heads); 0: off.")
    flags.DEFINE_string("unlabeled_file", None, "UTF-8 file, one text per line, that the teacher labels.")
    flags.DEFINE_enum("unlabeled_dataset", None, list(BUNDLED_UNLABELED), "A bundled unlabeled corpus.")
    flags.DEFINE_integer("max_unlabeled_examples", 0, "Use at most this many unlabeled texts per source (0: all).")
    flags.DEFINE_integer("seq_length", 0, "Packed sequence length (0: the teacher's).")
    flags.DEFINE_integer("batch_size", d.batch_size, "Global batch size.", lower_bound=1)
    flags.DEFINE_integer("epochs", d.epochs, "Training epochs.", lower_bound=1)
    flags.DEFINE_float("learning_rate", d.learning_rate, "Peak learning rate (AdamW, warmup + linear decay).")
    flags.DEFINE_float("warmup_ratio", d.warmup_ratio, "Fraction of steps of linear warmup.")
    flags.DEFINE_float("weight_decay", d.weight_decay, "AdamW weight decay (not on biases and LayerNorm).")
    flags.DEFINE_float("dropout", d.dropout, "The student's dropout (encoder and head).")
    flags.DEFINE_bool("shuffle", True, "Reshuffle the training set every epoch (seeded).")
    strategy_flags()
    flags.DEFINE_integer("seed", 0, "Seed for shuffling and initialisation (and the split, when neither --split_seed nor the teacher gives one).")
    flags.DEFINE_integer("verbose", 1, "Keras fit verbosity: 0, 1 (progress bar) or 2 (a line per epoch).")


main = main_for(DistillConfig, run)


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
