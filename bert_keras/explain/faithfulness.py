"""Faithfulness of token rankings: ERASER's comprehensiveness and sufficiency (DeYoung et al. 2020), as AOPC.

For a classifier's predicted class c and an explanation's ranking of the input's WordPieces (specials never
ranked): comprehensiveness = p(c | x) - p(c | x with its top-k% pieces replaced by [MASK]) (a faithful ranking
puts first what the prediction needs: large is good); sufficiency = p(c | x) - p(c | only the top-k% pieces kept,
the rest replaced by [MASK]) (small is good). Both averaged over k in 1, 5, 10, 20, 50% (the area over the
perturbation curve, AOPC), k% rounded up to at least one piece. ERASER deletes tokens; we replace them with
[MASK] so that lengths and positions stay the same (BERT's own "unknown here" token). Plain numpy around the
model's forward pass; no library computes these for TensorFlow models.
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from bert_keras.explain.attributions import _attributor
from bert_keras.explain.explanation import SPECIAL_PIECES

FRACTIONS = (0.01, 0.05, 0.10, 0.20, 0.50)


def perturbation_rows(ids, special, order, fractions=FRACTIONS, mask_id=103):
    """The comprehensiveness and sufficiency inputs of one text: ids [T] -> (removed [F, T], kept [F, T]).

    Args:
        ids: the packed WordPiece ids of the input.
        special: bool [T], True at [CLS] / [SEP] (never replaced).
        order: the non-special positions, most important first.
        fractions: the k% values.
        mask_id: the replacement id.

    >>> removed, kept = perturbation_rows(np.array([1, 5, 6, 7, 2]), np.array([1, 0, 0, 0, 1], bool),
    ...                                   [2, 3, 1], fractions=(0.3,), mask_id=9)
    >>> removed.tolist(), kept.tolist()
    ([[1, 5, 9, 7, 2]], [[1, 9, 6, 9, 2]])
    """
    ids = np.asarray(ids)
    real = np.nonzero(~np.asarray(special, bool))[0]
    removed, kept = [], []
    for fraction in fractions:
        k = min(len(real), max(1, math.ceil(fraction * len(real))))
        top = np.asarray(order[:k], dtype=int)
        r = ids.copy()
        r[top] = mask_id
        s = ids.copy()
        s[np.setdiff1d(real, top)] = mask_id
        removed.append(r)
        kept.append(s)
    return np.stack(removed), np.stack(kept)


def faithfulness(model, explanations, fractions=FRACTIONS):
    """ERASER comprehensiveness and sufficiency AOPC of a classifier's explanations.

    Args:
        model: the `BertClassifier` the explanations are of (any method: integrated gradients, gradient x input,
            attention, rollout, or a random ranking made with `dataclasses.replace`).
        explanations: `Explanation`s of single texts or pairs; their `attributions` rank the pieces.
        fractions: the k% values of the AOPC.

    Returns:
        dict: `comprehensiveness` and `sufficiency` (AOPC, mean over texts), `per_fraction` {k: (comp, suff)}
        means, `n` texts, `fractions`.
    """
    attributor = _attributor(model)
    if attributor.kind != "classifier" or model.num_classes < 2:
        raise ValueError("faithfulness measures how a class probability drops when pieces are masked: it needs a "
                         "BertClassifier with >= 2 classes (for a regressor or a tagger, compare rankings by hand "
                         "with perturbation_rows).")
    explanations = list(explanations)
    if not explanations:
        raise ValueError("faithfulness got no explanations to measure.")
    mask_id = attributor.tokenizer.mask_id
    if mask_id is None:
        raise ValueError("The vocabulary has no [MASK] token to replace pieces with.")
    m = attributor.model
    fn = getattr(attributor, "probabilities_fn", None)
    if fn is None:
        spec = {name: tf.TensorSpec([None, None], tf.int32) for name in ("input_word_ids", "input_mask",
                                                                          "input_type_ids")}

        def probabilities(f):
            return tf.nn.softmax(m(f, training=False), axis=-1)

        fn = attributor.probabilities_fn = tf.function(probabilities, input_signature=[spec])
    comp, suff = [], []
    for e in explanations:
        features, table = attributor._features(e.text, e.pair_text)
        if table["tokens"] != list(e.tokens):
            raise ValueError(f"An explanation's tokens differ from this model's tokenization of its text "
                             f"({e.text[:60]!r}): explain with the same model.")
        ids = features["input_word_ids"][0]
        special = np.array([t in attributor.specials for t in table["tokens"]])
        scores = np.asarray(e.attributions, "float64")
        real = np.nonzero(~special)[0]
        order = real[np.argsort(-scores[real], kind="stable")]
        removed, kept = perturbation_rows(ids, special, order, fractions, mask_id)
        rows = np.concatenate([ids[None], removed, kept]).astype("int32")
        n = len(rows)
        batch = {"input_word_ids": rows, "input_mask": np.repeat(features["input_mask"], n, 0),
                 "input_type_ids": np.repeat(features["input_type_ids"], n, 0)}
        probs = fn(batch).numpy()
        # The class the explanation is of (a `target=` class), else the predicted one (ERASER's choice).
        target = (e.details or {}).get("class")
        names = list(model.labels) if model.labels else list(range(model.num_classes))
        c = names.index(target) if target in names else int(probs[0].argmax())
        f = len(fractions)
        comp.append(probs[0, c] - probs[1:1 + f, c])
        suff.append(probs[0, c] - probs[1 + f:, c])
    comp, suff = np.asarray(comp), np.asarray(suff)
    return {"comprehensiveness": float(comp.mean()), "sufficiency": float(suff.mean()), "n": len(comp),
            "fractions": list(fractions),
            "per_fraction": {k: (float(c), float(s)) for k, c, s in zip(fractions, comp.mean(0), suff.mean(0))}}


def random_ranking(explanation, rng):
    """A copy of `explanation` whose attributions are a random ranking (uniform scores; specials at 0): the
    floor every method must beat."""
    scores = rng.random(len(explanation.tokens)).astype("float32")
    scores[[i for i, t in enumerate(explanation.tokens) if t in SPECIAL_PIECES]] = 0.0
    return dataclasses.replace(explanation, method="random", target="random ranking", attributions=scores,
                               completeness_error=None, baseline_score=None, steps=None)


def compare_methods(model, texts, methods=("ig", "grad_input", "rollout", "attention", "random"), steps=64, seed=0,
                    fractions=FRACTIONS):
    """The faithfulness table: one row per method, each ranking the same texts' pieces.

    Args:
        model: a `BertClassifier` with its preprocessor.
        texts: the inputs (held out from training).
        methods: names of `bert_keras.explain.METHODS`, and "random" (a seeded random ranking).
        steps: integrated gradients' steps.
        seed: the random ranking's seed.
        fractions: the AOPC's k% values.

    Returns:
        {method: faithfulness(...) result, plus `seconds` (the method's time over the texts)}.
    """
    import time

    from bert_keras.explain.explain_texts import explain_texts

    rows = {}
    base = None
    for method in methods:
        start = time.perf_counter()
        if method == "random":
            reference = base or explain_texts(model, texts, "attention")
            rng = np.random.default_rng(seed)
            explanations = [random_ranking(e, rng) for e in reference]
        else:
            explanations = explain_texts(model, texts, method, steps=steps)
            if method == "attention":
                base = explanations
        seconds = time.perf_counter() - start
        rows[method] = {**faithfulness(model, explanations, fractions), "seconds": seconds}
    return rows


def completeness_study(model, texts, steps=(8, 16, 32, 64, 128), rule="gausslegendre"):
    """Integrated gradients' completeness error over `texts` at each number of steps: {steps: {median, p95,
    max}} (errors where f(x) = f(baseline) are left out), and `steps_for_p95_under_5pct`: the fewest tried
    steps whose p95 is <= 0.05 (None if none)."""
    from bert_keras.explain.attributions import integrated_gradients

    out = {}
    for n in steps:
        errors = np.array([e.completeness_error for e in integrated_gradients(model, texts, steps=n, rule=rule)])
        errors = errors[np.isfinite(errors)]
        if not len(errors):
            raise ValueError("No text has f(x) != f(baseline): completeness cannot be measured on these texts.")
        out[n] = {"median": float(np.median(errors)), "p95": float(np.percentile(errors, 95)),
                  "max": float(errors.max()), "n": int(len(errors))}
    out["steps_for_p95_under_5pct"] = next((n for n in steps if out[n]["p95"] <= 0.05), None)
    return out
