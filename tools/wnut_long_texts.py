"""Tagging long texts in windows: W-NUT 2016 tweets joined into texts of 2,000+ WordPieces, tagged whole, against
the same tweets tagged one by one (README, "Long documents").

    .venv/bin/python tools/wnut_long_texts.py [--epochs 5] [--seq_length 128] [--window_stride 63]
        [--max_windows 64] [--min_pieces 2000] [--joined_training 0] [--tagger FILE.keras] [--out runs/wnut_long]

Fine-tunes the bundled MiniLM as a tagger (`BertTokenClassifier.from_pretrained(long_document="windows")`) on the
seeded W-NUT training split, then joins the dev and test tweets (held out; each tweet's words joined by spaces,
tweets by a newline) into texts of at least `--min_pieces` WordPieces. An entity found in a tweet alone counts as
kept when the joined text yields the same type at the same character offsets (shifted by the tweet's start).
Measured twice: `predict` in Python and the export's `serving_default` under TF Serving's loader
(`python -m export.predict`, a fresh process). The control: each tweet between its previous and next tweet, short
enough for one window (no windowing at all), against the tweet alone: what the neighbours' text changes by itself.
Prints the figures and writes `<out>/result.json`.
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


def agreement(alone, joined, groups, tweets=None):
    """(entities of the tweets alone, of those found again in the joined texts, entities only in the joined); with
    `tweets`, only the joined text's entities inside the tweets count."""
    total = kept = 0
    extra = 0
    for (_, starts, members), found in zip(groups, joined):
        found = {(e["type"], e["start"], e["end"]) for e in found
                 if tweets is None or any(s <= e["start"] and e["end"] <= s + len(tweets[i])
                                          for s, i in zip(starts, members))}
        wanted = {(e["type"], start + e["start"], start + e["end"]) for start, i in zip(starts, members)
                  for e in alone[i]}
        total += len(wanted)
        kept += len(wanted & found)
        extra += len(found - wanted)
    return total, kept, extra


def with_neighbours(tweets, tokenizer, budget):
    """Each tweet between its neighbours in the held-out order (the previous and next tweet, as far as the three fit
    `budget` pieces, so one window reads them): [(text, start of the tweet in it)]."""
    lengths = tokenizer.tokenize(tweets).row_lengths().numpy()
    out = []
    for i, tweet in enumerate(tweets):
        before = tweets[i - 1] if i > 0 else None
        after = tweets[i + 1] if i + 1 < len(tweets) else None
        pieces = int(lengths[i]) + (int(lengths[i - 1]) if before else 0) + (int(lengths[i + 1]) if after else 0)
        if after is not None and pieces > budget:
            pieces -= int(lengths[i + 1])
            after = None
        if before is not None and pieces > budget:
            before = None
        text = (before + "\n" if before else "") + tweet + ("\n" + after if after else "")
        out.append((text, len(before) + 1 if before else 0))
    return out


def centred_windows(groups, tweets, tokenizer, budget):
    """Each tweet of a joined text inside one window of that text centred on the tweet (whole words, at most
    `budget` pieces): the context the max-context rule aims for. [(window text, start of the tweet in it)]."""
    out = []
    for text, starts, members in groups:
        data = text.encode("utf-8")
        ids, first, last = (r[0].numpy().tolist() for r in tokenizer.tokenize_with_offsets([text]))
        word = [p for p, piece in enumerate(ids) if not tokenizer.vocabulary[piece].startswith("##")] + [len(ids)]
        for start, i in zip(starts, members):
            b0, b1 = len(text[:start].encode("utf-8")), len(text[:start + len(tweets[i])].encode("utf-8"))
            inside = [p for p in range(len(ids)) if b0 <= first[p] and last[p] <= b1]
            if not inside:
                out.append((tweets[i], 0))
                continue
            a, b = inside[0], inside[-1] + 1
            lo = max(0, a - max(budget - (b - a), 0) // 2)
            hi = min(len(ids), lo + budget)
            lo = max(0, min(lo, hi - budget))
            lo, hi = min(w for w in word if w >= lo), max(w for w in word if w <= hi)  # whole words
            out.append((data[first[lo]:last[hi - 1]].decode("utf-8"), start - len(data[:first[lo]].decode("utf-8"))))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--window_stride", type=int, default=63)
    parser.add_argument("--max_windows", type=int, default=64)
    parser.add_argument("--min_pieces", type=int, default=2000)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--out", default="runs/wnut_long")
    parser.add_argument("--joined_training", type=int, default=0, help="also train on the training tweets joined "
                        "in groups of this many (shuffled, seeded): texts like the ones measured")
    parser.add_argument("--tagger", default="", help="a .keras tagger to measure instead of fine-tuning one (the "
                        "run saves its tagger as <out>/tagger.keras)")
    args = parser.parse_args()

    import keras

    from bert_keras import BertTokenClassifier
    from bert_keras.data import real_datasets
    from bert_keras.data.real_corpora import minilm_dir
    from bert_keras.text.word_features import bio_tag_set

    splits = real_datasets.wnut16(seed=0)
    os.makedirs(args.out, exist_ok=True)
    fit_seconds = None
    if args.tagger:
        tagger = keras.saving.load_model(args.tagger, safe_mode=True)
    else:
        keras.utils.set_random_seed(0)
        tagger = BertTokenClassifier.from_pretrained(
            minilm_dir(), labels=bio_tag_set(splits["train"]), seq_length=args.seq_length, precision="float32",
            long_document="windows", window_stride=args.window_stride, max_windows=args.max_windows)
        tagger.compile(learning_rate=args.learning_rate)
        start = time.time()
        train = list(splits["train"])
        if args.joined_training:
            import random

            order = list(range(len(train)))
            random.Random(0).shuffle(order)
            train += [(sum((train[j][0] for j in order[i:i + args.joined_training]), []),
                       sum((train[j][1] for j in order[i:i + args.joined_training]), []))
                      for i in range(0, len(order), args.joined_training)]
        tagger.fit([w for w, _ in train], [t for _, t in train], batch_size=32, epochs=args.epochs, verbose=2)
        fit_seconds = round(time.time() - start, 1)
        tagger.save(os.path.join(args.out, "tagger.keras"))
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
    # The control: each tweet between its two neighbours, in one window (no windowing): how much of the change
    # comes from the neighbours' text alone.
    near = with_neighbours(tweets, tagger.preprocessor.tokenizer, args.seq_length - 2)
    near_found = tagger.predict([t for t, _ in near], verbose=0)
    near_total, near_kept, near_extra = agreement(alone, near_found, [(t, [s], [i]) for i, (t, s) in enumerate(near)],
                                                  tweets)
    # And the windows' own error: each tweet of the joined texts read in one window of them centred on it, against
    # the joined texts read in windows (the max-context rule's stride granularity is all that differs).
    centred = centred_windows(groups, tweets, tagger.preprocessor.tokenizer, args.seq_length - 2)
    centred_found = tagger.predict([t for t, _ in centred], verbose=0)
    order = [i for _, _, members in groups for i in members]
    in_joined = {}
    for (text, starts, members), found in zip(groups, joined):
        for s, i in zip(starts, members):
            in_joined[i] = [{**e, "start": e["start"] - s, "end": e["end"] - s} for e in found
                            if s <= e["start"] and e["end"] <= s + len(tweets[i])]
    c_total, c_kept, c_extra = agreement([in_joined[i] for i in range(len(tweets))], centred_found,
                                         [(t, [s], [i]) for (t, s), i in zip(centred, order)], tweets)

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
        "args": vars(args), "fit_seconds": fit_seconds, "held_out_entity_f1": scores["entity_f1"],
        "tweets": len(tweets), "texts": len(groups), "pieces_per_text": pieces,
        "windows_per_text": [r["windows"] for r in rows], "capped": [r["capped"] for r in rows],
        "python": {"entities_alone": total, "kept": kept, "kept_fraction": kept / max(total, 1),
                   "only_in_joined": extra, "seconds": round(python_seconds, 1)},
        "neighbours_control": {"entities_alone": near_total, "kept": near_kept,
                               "kept_fraction": near_kept / max(near_total, 1), "only_with_neighbours": near_extra},
        "centred_window_vs_windows": {"entities_in_windows": c_total, "kept": c_kept,
                                      "kept_fraction": c_kept / max(c_total, 1), "only_in_centred": c_extra},
        "export": {"entities_alone": served_total, "kept": served_kept, "kept_fraction": served_kept / max(total, 1),
                   "only_in_joined": served_extra, "texts_equal_to_python": same_as_python},
    }
    print(json.dumps(result, indent=2))
    with open(os.path.join(args.out, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
