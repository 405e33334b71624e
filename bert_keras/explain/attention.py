"""Attention views: every layer's and head's attention probabilities, and attention rollout.

Leans on the encoder's own `run_layers(attention_probs=True)` (the probabilities the model multiplies its values
by, padding keys at 0) inside one `tf.function` per model; the rollout is numpy. Attention says where the model
looked, not why it decided: `bert_keras.explain.faithfulness` measures how far each view can be trusted.
"""

import numpy as np
import tensorflow as tf

from bert_keras.explain.attributions import _attributor
from bert_keras.explain.explanation import Explanation, words_of


def attention_maps(model, x):
    """Every layer's and head's attention for each input, with the last layer's [CLS] row (heads averaged) as
    the per-token scores.

    Args:
        model: a task model with its preprocessor (as `integrated_gradients`).
        x: texts, or `(texts_a, texts_b)` / `(questions, contexts)`.

    Returns:
        One `Explanation` per input (method "attention"): `attention` [layers, heads, tokens, tokens] (rows: the
        attending token, summing to 1), `attributions` = the last layer's attention from [CLS] to each token,
        averaged over heads.

    Example:
    >>> from bert_keras import BertClassifier
    >>> from bert_keras.data.real_corpora import minilm_dir
    >>> model = BertClassifier.from_pretrained(minilm_dir(), num_classes=2, precision="float32")
    >>> [e] = attention_maps(model, ["a gorgeous, witty film"])
    >>> e.attention.shape, round(float(e.attention[0, 0, 1].sum()), 4)
    ((6, 12, 7, 7), 1.0)
    """
    return [_view(model, text, pair, "attention") for text, pair in _inputs(model, x)]


def attention_rollout(model, x):
    """Attention rollout (Abnar & Zuidema 2020) for each input: per layer, A' = 0.5 A + 0.5 I with A averaged
    over heads, rows renormalized, multiplied from the first layer to the last. `rollout` [tokens, tokens];
    `attributions` = its [CLS] row (how much each input token flows into [CLS], which the pooler reads).
    Arguments as `attention_maps`."""
    return [_view(model, text, pair, "rollout") for text, pair in _inputs(model, x)]


def rollout(attention):
    """The rollout matrix of attention probabilities [layers, heads, T, T] -> [T, T] (rows sum to 1).

    >>> a = np.full((2, 1, 2, 2), 0.5)  # two layers attending evenly: 0.75 / 0.25 each, then their product
    >>> rollout(a).round(3).tolist()
    [[0.625, 0.375], [0.375, 0.625]]
    """
    attention = np.asarray(attention, "float64")
    t = attention.shape[-1]
    result = np.eye(t)
    for layer in attention:
        a = 0.5 * layer.mean(axis=0) + 0.5 * np.eye(t)
        a = a / a.sum(axis=-1, keepdims=True)
        result = a @ result
    return result.astype("float32")


def _inputs(model, x):
    attributor = _attributor(model)
    texts, pairs = attributor._columns(x)
    return [(t, None if pairs is None else pairs[i]) for i, t in enumerate(texts)]


def _probabilities(attributor, features):
    fn = getattr(attributor, "attention_fn", None)
    if fn is None:
        encoder = attributor.model.encoder
        spec = {name: tf.TensorSpec([None, None], tf.int32) for name in features}

        def probabilities(f):
            return tf.stack(encoder.run_layers(f, attention_probs=True, training=False)[1], axis=1)

        fn = attributor.attention_fn = tf.function(probabilities, input_signature=[spec])
    return fn(features).numpy()[0]  # [layers, heads, T, T]


def _view(model, text, pair, method):
    attributor = _attributor(model)
    features, table = attributor._features(text, pair)
    probs = _probabilities(attributor, features).astype("float32")
    if method == "attention":
        scores, extra, what = probs[-1].mean(axis=0)[0], {"attention": probs}, "last layer's attention from [CLS]"
    else:
        matrix = rollout(probs)
        scores, extra, what = matrix[0], {"rollout": matrix}, "attention rollout into [CLS]"
    label, details = None, {}
    if attributor.kind == "classifier":  # the prediction the view is shown beside
        found = attributor._targets(features, attributor.forward(features, attributor._baseline(features, "pad")[0]),
                                    table, text, pair, None)
        label, details = found[0][3], found[0][4]
    words, starts, ends, segments, word_scores = words_of(
        table["tokens"], table["token_segment"], table["token_start"], table["token_end"], scores,
        attributor.specials, (text, pair))
    return Explanation(text=text, pair_text=pair, method=method, target=what, tokens=table["tokens"],
                       token_segment=table["token_segment"], token_start=table["token_start"],
                       token_end=table["token_end"], attributions=np.asarray(scores, "float32"), words=words,
                       word_start=starts, word_end=ends, word_segment=segments, word_attributions=word_scores,
                       label=label, details=details, **extra)
