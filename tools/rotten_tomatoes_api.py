"""Rotten Tomatoes through the Python API alone: the README's quick start on the full seeded split.

    .venv/bin/python tools/rotten_tomatoes_api.py [--epochs 2] [--seq_length 128] [--out runs/rt_api]
        [--precision auto|float32|mixed_bfloat16] [--lora_rank 8] [--gradient_accumulation_steps 4]
        [--learning_rate 1e-4|auto]

Prints the test accuracy, the wall time of `fit` (and of the whole run) and the peak RSS, and writes them to
`<out>/result.json`, with the trainable-parameter share and how the trained model's test predictions in
float32 and in mixed_bfloat16 agree (argmax agreement, largest probability difference).
The same split and settings as `python -m trainers.finetune --dataset=rotten_tomatoes --init_checkpoint=<MiniLM>
--seq_length=128 --batch_size=32 --epochs=2 --learning_rate=1e-4`, whose fixed-padding run it is compared with
(README, "Fine-tuning on raw strings").
"""

import argparse
import json
import os
import time

import bert_keras  # noqa: F401  (sets the oneDNN switch before TensorFlow loads)


def learning_rate(value):
    """A float, or "auto" (argparse names this function in its error for anything else)."""
    return value if value == "auto" else float(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="default: the bundled all-MiniLM-L6-v2")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=32)
    # 1e-4: the README's full fine-tuning rows; "auto": the task API's default (5e-5, or 2e-3 with --lora_rank).
    parser.add_argument("--learning_rate", type=learning_rate, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto", help="auto, float32, mixed_bfloat16 or mixed_float16")
    parser.add_argument("--lora_rank", type=int, default=None)
    parser.add_argument("--gradient_accumulation_steps", type=int, default=None)
    parser.add_argument("--out", default="runs/rt_api")
    args = parser.parse_args()

    import resource

    import keras
    import numpy as np

    from bert_keras import BertClassifier
    from bert_keras.data import real_datasets
    from bert_keras.data.real_corpora import minilm_dir
    from bert_keras.models.encoder_task import recipe_peak_learning_rate

    start = time.time()
    keras.utils.set_random_seed(args.seed)
    splits = real_datasets.rotten_tomatoes(seed=args.seed)
    (train_x, train_y), (dev_x, dev_y), (test_x, test_y) = (
        ([t for t, _ in splits[s]], [y for _, y in splits[s]]) for s in ("train", "dev", "test"))
    clf = BertClassifier.from_pretrained(args.checkpoint or minilm_dir(), labels=["fresh", "rotten"],
                                         seq_length=args.seq_length, precision=args.precision,
                                         lora_rank=args.lora_rank)
    trainable = sum(int(np.prod(v.shape)) for v in clf.trainable_variables)
    total = sum(int(np.prod(v.shape)) for v in clf.weights)
    clf.compile(learning_rate=args.learning_rate, gradient_accumulation_steps=args.gradient_accumulation_steps)
    fit_start = time.time()
    history = clf.fit(train_x, train_y, batch_size=args.batch_size, epochs=args.epochs,
                      validation_data=(dev_x, dev_y), verbose=2)
    fit_seconds = time.time() - fit_start
    result = {"train_examples": len(train_x), "epochs": args.epochs, "seq_length": args.seq_length,
              "precision": clf.encoder.embeddings.dtype_policy.name, "lora_rank": args.lora_rank,
              "gradient_accumulation_steps": args.gradient_accumulation_steps,
              "learning_rate": recipe_peak_learning_rate(clf), "trainable_share": trainable / total,
              "fit_seconds": round(fit_seconds, 1), "test": clf.task_metrics(test_x, test_y),
              "dev_accuracy_per_epoch": history.history["val_accuracy"], "total_seconds": None,
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    # The same trained weights served in float32 and in mixed_bfloat16.
    fp32 = clf.plain_copy(dtype="float32").predict(test_x, verbose=0)
    bf16 = clf.plain_copy(dtype="mixed_bfloat16").predict(test_x, verbose=0)
    result["bf16_vs_fp32_inference"] = {"examples": len(test_x),
                                        "argmax_agreement": float(np.mean(fp32.argmax(1) == bf16.argmax(1))),
                                        "max_abs_prob_diff": float(np.abs(fp32 - bf16).max())}
    result["total_seconds"] = round(time.time() - start, 1)
    os.makedirs(args.out, exist_ok=True)
    clf.save(os.path.join(args.out, "model.keras"))
    with open(os.path.join(args.out, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
