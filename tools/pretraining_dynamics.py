"""Our pretraining against the reference (transformers on PyTorch) on the very same batches: the learning curves.

The short CPU pretraining runs reach an MLM plateau where the encoder predicts from the bag of context tokens
and not from their order (`trainers.pretraining_recipes.context_check`). This checks that the plateau is BERT's
own early training dynamics and not something of ours: both implementations train the same tiny BERT from
scratch on the same masked batches with the same schedule, and both are scored every `--every` steps on the same
held-out batches, as they are and with each row's word order shuffled.

    .venv/bin/python tools/pretraining_dynamics.py dump --steps=800       # batches from our tf.data pipeline
    .venv/bin/python tools/pretraining_dynamics.py keras                  # bert_keras BertPretrainer, FusedAdamW
    .venv-ref/bin/python tools/pretraining_dynamics.py torch              # transformers BertForPreTraining, AdamW

`dump` writes `runs/pretraining_dynamics/batches.npz` (People's Daily, the recipe's vocab, seq 64, batch 64;
the last 30 batches are held out); `keras` and `torch` write `curve_<impl>.json` beside it and print one line
per evaluation. Both: tiny config (2 x 128), AdamW (peak 1e-3, 10% warmup, linear decay, weight decay 0.01
except biases and LayerNorm, epsilon 1e-6, global-norm clipping 1.0), dropout 0.1.
"""

import argparse
import json
import os
import time

import numpy as np

OUT = os.path.join("runs", "pretraining_dynamics")
HELD_OUT = 30
TINY = dict(layers=2, hidden=128, heads=2, intermediate=512)
FEATURES = ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions")


def dump(args):
    import bert_keras  # noqa: F401
    from bert_keras.text.mlm_masking import MlmMasker
    from trainers import pretrain

    cfg = pretrain.PretrainConfig(model_dir=OUT, corpus="peoples_daily", vocab=args.vocab, seq_length=args.seq_length,
                                  max_predictions_per_seq=round(0.15 * args.seq_length) + 1,
                                  batch_size=args.batch_size, eval_fraction=0.0, bucket_by_length=False)
    tokenizer = pretrain.run_tokenizer(cfg)
    masker = MlmMasker(tokenizer.vocabulary, cfg.max_predictions_per_seq, cfg.masked_lm_prob)
    train, _, _ = pretrain.run_datasets(cfg, tokenizer, masker)
    columns = {}
    for features, labels, weights in train.take(args.steps + HELD_OUT):
        row = {**features, "mlm_ids": labels["mlm"], "nsp": labels["nsp"], "mlm_weights": weights["mlm"]}
        for name, value in row.items():
            columns.setdefault(name, []).append(value.numpy())
    from trainers.pretraining_recipes import shuffle_context

    # The held-out batches once more with word order shuffled (the same rows for both implementations).
    rng = np.random.default_rng(0)
    for i in range(args.steps, args.steps + HELD_OUT):
        shuffled = shuffle_context({k: columns[k][i] for k in FEATURES}, columns["mlm_weights"][i], rng)
        for name in FEATURES:
            columns.setdefault("shuffled_" + name, []).append(shuffled[name])
    os.makedirs(OUT, exist_ok=True)
    np.savez(os.path.join(OUT, "batches.npz"), vocab_size=tokenizer.vocab_size,
             **{name: np.stack(values) for name, values in columns.items()})
    print(f"{args.steps} training + {HELD_OUT} held-out batches of {args.batch_size} x {args.seq_length} -> {OUT}")


def _schedule(step, steps, peak):
    warmup = max(1, steps // 10)
    return peak * (step / warmup if step < warmup else max(0.0, (steps - step) / (steps - warmup)))


def _evaluate(accuracy, data, steps):
    plain, shuffled = [], []
    for j, i in enumerate(range(steps, steps + HELD_OUT)):
        ids, weights = data["mlm_ids"][i], data["mlm_weights"][i]
        plain.append(accuracy({k: data[k][i] for k in FEATURES}, ids, weights))
        shuffled.append(accuracy({k: data["shuffled_" + k][j] for k in FEATURES}, ids, weights))
    return float(np.mean(plain)), float(np.mean(shuffled))


def _train(impl, step_fn, accuracy, data, args):
    steps = len(data["input_word_ids"]) - HELD_OUT
    curve, start = [], time.time()
    for step in range(steps):
        step_fn(step, steps)
        if (step + 1) % args.every == 0 or step + 1 == steps:
            plain, shuffled = _evaluate(accuracy, data, steps)
            curve.append({"step": step + 1, "mlm_accuracy": plain, "mlm_accuracy_shuffled_context": shuffled,
                          "seconds": round(time.time() - start, 1)})
            print(json.dumps({"impl": impl, **curve[-1]}), flush=True)
    with open(os.path.join(OUT, f"curve_{impl}.json"), "w", encoding="utf-8") as f:
        json.dump(curve, f, indent=1)


def keras_run(args):
    import bert_keras  # noqa: F401
    import keras
    import tensorflow as tf

    from bert_keras import BertEncoder, BertPretrainer
    from bert_keras.optimizers import create_optimizer

    data = dict(np.load(os.path.join(OUT, "batches.npz")))
    steps = len(data["input_word_ids"]) - HELD_OUT
    keras.utils.set_random_seed(0)
    model = BertPretrainer(BertEncoder(vocab_size=int(data["vocab_size"]), num_layers=TINY["layers"],
                                       hidden_dim=TINY["hidden"], num_heads=TINY["heads"],
                                       intermediate_dim=TINY["intermediate"]))
    model.compile(optimizer=create_optimizer("adamw", args.learning_rate, steps, 0.1, 0.01),
                  loss=model.default_loss(), weighted_metrics=model.default_weighted_metrics())
    def step_fn(i, _):
        model.train_on_batch({k: data[k][i] for k in FEATURES}, {"mlm": data["mlm_ids"][i], "nsp": data["nsp"][i]},
                             sample_weight={"mlm": data["mlm_weights"][i],
                                            "nsp": np.ones_like(data["nsp"][i], np.float32)})

    forward = tf.function(lambda x: model(x, training=False)["mlm"])

    def accuracy(features, ids, weights):
        predicted = forward({k: tf.constant(v) for k, v in features.items()}).numpy().argmax(-1)
        return ((predicted == ids) * weights).sum() / weights.sum()
    _train("bert_keras", step_fn, accuracy, data, args)


def torch_run(args):
    import torch
    from transformers import BertConfig, BertForPreTraining

    data = dict(np.load(os.path.join(OUT, "batches.npz")))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=int(data["vocab_size"]), hidden_size=TINY["hidden"],
                        num_hidden_layers=TINY["layers"], num_attention_heads=TINY["heads"],
                        intermediate_size=TINY["intermediate"])
    model = BertForPreTraining(config)
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.learning_rate, eps=1e-6)

    def logits(features):
        t = {k: torch.tensor(np.asarray(v), dtype=torch.long) for k, v in features.items()}
        out = model(input_ids=t["input_word_ids"], attention_mask=t["input_mask"], token_type_ids=t["input_type_ids"])
        positions = t["masked_lm_positions"][..., None].expand(-1, -1, config.vocab_size)
        return torch.gather(out.prediction_logits, 1, positions), out.seq_relationship_logits

    def step_fn(i, steps):
        for group in optimizer.param_groups:
            group["lr"] = _schedule(i, steps, args.learning_rate)
        mlm, nsp = logits({k: data[k][i] for k in FEATURES})
        xent = torch.nn.functional.cross_entropy(mlm.reshape(-1, config.vocab_size),
                                                 torch.tensor(data["mlm_ids"][i], dtype=torch.long).reshape(-1),
                                                 reduction="none")
        weights = torch.tensor(data["mlm_weights"][i]).reshape(-1)
        loss = (xent * weights).sum() / weights.sum() + torch.nn.functional.cross_entropy(
            nsp, torch.tensor(data["nsp"][i], dtype=torch.long))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    def accuracy(features, ids, weights):
        model.eval()
        with torch.no_grad():
            predicted = logits(features)[0].argmax(-1).numpy()
        model.train()
        return ((predicted == ids) * weights).sum() / weights.sum()
    _train("hf_torch", step_fn, accuracy, data, args)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("dump", "keras", "torch"))
    parser.add_argument("--steps", type=int, default=800, help="training batches to dump")
    parser.add_argument("--seq_length", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--vocab", default="runs/pretrain_chinese/vocab.txt",
                        help="the recipe's People's Daily vocab (trainers.pretraining_recipes --recipe=chinese)")
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--every", type=int, default=100, help="evaluate every this many steps")
    args = parser.parse_args()
    {"dump": dump, "keras": keras_run, "torch": torch_run}[args.what](args)


if __name__ == "__main__":
    main()
