"""Tagging long texts in windows: W-NUT 2016 tweets joined into texts of 2,000+ WordPieces, tagged whole, against
the same tweets tagged one by one (README, "Long documents").

    .venv/bin/python tools/wnut_long_texts.py [--epochs 3] [--seq_length 128] [--window_stride 63]
        [--max_windows 64] [--min_pieces 2000] [--out runs/wnut_long]

Fine-tunes the bundled MiniLM as a tagger (`BertTokenClassifier.from_pretrained(long_document="windows")`) on the
seeded W-NUT training split, then joins the dev and test tweets (held out; each tweet's words joined by spaces,
tweets by a newline) into texts of at least `--min_pieces` WordPieces. An entity found in a tweet alone counts as
kept when the joined text yields the same type at the same character offsets (shifted by the tweet's start).
Measured twice: `predict` in Python and the export's `serving_default` under TF Serving's loader
(`python -m export.predict`, a fresh process). Prints the figures and writes `<out>/result.json`.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import bert_keras  # noqa: F401  (sets the oneDNN switch before TensorFlow loads)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def joined_texts(tweets, tokenizer, min_pieces):
    """Tweets (strings) -> [(text, [start of each tweet in it], [tweet indices])], each text >= min_pieces pieces
    (the leftover tweets join the last text)."""
    lengths = tokenizer.tokenize(tweets).row_lengths().numpy()
    texts, current, pieces = [], [], 0
    for i, n in enumerate(lengths):
        current.append(i)
        pieces += int(n)
        if pieces >= min_pieces:
            texts.append(current)
            current, pieces = [], 0
    if current:
        if texts:
            texts[-1].extend(current)
        else:
            texts.append(current)
    out = []
    for members in texts:
        starts, text = [], ""
        for i in members:
            if text:
                text += "\n"
            starts.append(len(text))
            text += tweets[i]
        out.append((text, starts, members))
    return out


def agreement(alone, joined, groups):
    """(entities of the tweets alone, of those found again in the joined texts, entities only in the joined)."""
    total = kept = 0
    extra = 0
    for (_, starts, members), found in zip(groups, joined):
        found = {(e["type"], e["start"], e["end"]) for e in found}
        wanted = {(e["type"], start + e["start"], start + e["end"]) for start, i in zip(starts, members)
                  for e in alone[i]}
        total += len(wanted)
        kept += len(wanted & found)
        extra += len(found - wanted)
    return total, kept, extra


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--window_stride", type=int, default=63)
    parser.add_argument("--max_windows", type=int, default=64)
    parser.add_argument("--min_pieces", type=int, default=2000)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--out", default="runs/wnut_long")
    args = parser.parse_args()

    import keras

    from bert_keras import BertTokenClassifier
    from bert_keras.data import real_datasets
    from bert_keras.data.real_corpora import minilm_dir
    from bert_keras.text.word_features import bio_tag_set

    splits = real_datasets.wnut16(seed=0)
    keras.utils.set_random_seed(0)
    tagger = BertTokenClassifier.from_pretrained(
        minilm_dir(), labels=bio_tag_set(splits["train"]), seq_length=args.seq_length, precision="float32",
        long_document="windows", window_stride=args.window_stride, max_windows=args.max_windows)
    tagger.compile(learning_rate=args.learning_rate)
    start = time.time()
    tagger.fit([w for w, _ in splits["train"]], [t for _, t in splits["train"]], batch_size=32, epochs=args.epochs,
               verbose=2)
    fit_seconds = time.time() - start
    held_out = splits["dev"] + splits["test"]
    scores = tagger.task_metrics([w for w, _ in held_out], [t for _, t in held_out])
    tweets = [" ".join(words) for words, _ in held_out]
    groups = joined_texts(tweets, tagger.preprocessor.tokenizer, args.min_pieces)
    pieces = tagger.preprocessor.tokenizer.tokenize([t for t, _, _ in groups]).row_lengths().numpy().tolist()

    alone = tagger.predict(tweets, verbose=0)
    start = time.time()
    joined = tagger.predict([t for t, _, _ in groups], batch_size=1, verbose=0)
    python_seconds = time.time() - start
    total, kept, extra = agreement(alone, joined, groups)

    export_dir = tagger.export(os.path.abspath(os.path.join(args.out, "export")))
    flags = [f"--text={text}" for text, _, _ in groups]
    proc = subprocess.run([sys.executable, "-m", "export.predict", f"--saved_model={export_dir}", *flags], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=1800)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    served = [[{"type": r["entity_type"][j], "start": r["entity_start"][j], "end": r["entity_end"][j]}
               for j in range(r["num_entities"])] for r in rows]
    served_total, served_kept, served_extra = agreement(alone, served, groups)
    same_as_python = sum(
        {(e["type"], e["start"], e["end"]) for e in s} == {(e["type"], e["start"], e["end"]) for e in p}
        for s, p in zip(served, joined))
    result = {
        "args": vars(args), "fit_seconds": round(fit_seconds, 1), "held_out_entity_f1": scores["entity_f1"],
        "tweets": len(tweets), "texts": len(groups), "pieces_per_text": pieces,
        "windows_per_text": [r["windows"] for r in rows], "capped": [r["capped"] for r in rows],
        "python": {"entities_alone": total, "kept": kept, "kept_fraction": kept / max(total, 1),
                   "only_in_joined": extra, "seconds": round(python_seconds, 1)},
        "export": {"entities_alone": served_total, "kept": served_kept, "kept_fraction": served_kept / max(total, 1),
                   "only_in_joined": served_extra, "texts_equal_to_python": same_as_python},
    }
    print(json.dumps(result, indent=2))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
