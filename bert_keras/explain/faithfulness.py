"""Faithfulness of token rankings: ERASER's comprehensiveness and sufficiency (DeYoung et al. 2020), as AOPC.

For a classifier's predicted class c and an explanation's ranking of the input's WordPieces (specials never
ranked): comprehensiveness = p(c | x) - p(c | x with its top-k% pieces replaced by [MASK]) (a faithful ranking
puts first what the prediction needs: large is good); sufficiency = p(c | x) - p(c | only the top-k% pieces kept,
the rest replaced by [MASK]) (small is good). Both averaged over k in 1, 5, 10, 20, 50% (the area over the
perturbation curve, AOPC), k% rounded up to at least one piece. ERASER deletes tokens; we replace them with
[MASK] so that lengths and positions stay the same (BERT's own "unknown here" token). Plain numpy around the
model's forward pass; no library computes these for TensorFlow models.
"""

import math

import numpy as np
import tensorflow as tf

from bert_keras.explain.attributions import _attributor

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
        raise ValueError("faithfulness measures a classifier's class probability; this model is not one.")
    mask_id = attributor.tokenizer.mask_id
    if mask_id is None:
        raise ValueError("The vocabulary has no [MASK] token to replace pieces with.")
    m = attributor.model
    fn = getattr(attributor, "probabilities_fn", None)
    if fn is None:
        fn = attributor.probabilities_fn = tf.function(lambda f: tf.nn.softmax(m(f, training=False), axis=-1),
                                                       reduce_retracing=True)
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
        c = int(probs[0].argmax())
        f = len(fractions)
        comp.append(probs[0, c] - probs[1:1 + f, c])
        suff.append(probs[0, c] - probs[1 + f:, c])
    comp, suff = np.asarray(comp), np.asarray(suff)
    return {"comprehensiveness": float(comp.mean()), "sufficiency": float(suff.mean()), "n": len(comp),
            "fractions": list(fractions),
            "per_fraction": {k: (float(c), float(s)) for k, c, s in zip(fractions, comp.mean(0), suff.mean(0))}}
