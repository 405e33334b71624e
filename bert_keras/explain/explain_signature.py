"""Integrated gradients as a graph function of raw strings: the `explain` signature of classify exports.

TF Serving answers "why" next to "what": the export's `explain` signature takes the same `text` batch as
`serving_default` and returns, per text, its WordPieces with character offsets and their integrated-gradients
attributions for the predicted class's probability (the score for regression), with f(x) and f(baseline). The
same computation as `bert_keras.explain.integrated_gradients(model, texts, steps=steps)` (baseline "pad",
Gauss-Legendre points; tested equal to 1e-5 under the TF1 session loader), built from TensorFlow ops only
(`GradientTape` inside `tf.map_fn`, one text at a time) so that it lives in a SavedModel.

Cost: one forward and one backward pass over `steps` copies of each text, about `steps` times a plain
prediction of that text (32 steps on MiniLM: see `make bench`'s `explain` rows). `steps` is fixed at export
(`--explain_steps`, default 32).
"""

import tensorflow as tf

from bert_keras.explain.attributions import _score, integration_points
from bert_keras.text.entity_decoding import char_offsets

EXPLAIN_STEPS = 32


def explain_function(model, tokenizer, seq_length, steps=EXPLAIN_STEPS, labels=None):
    """`fn(text) -> dict` of [batch, ...] tensors for a `BertClassifier` (classification or regression).

    Args:
        model: the classifier (computing in float32 for the completeness property).
        tokenizer: its `BertTokenizer`.
        seq_length: packed length; the token outputs are padded to it.
        steps: integration points.
        labels: class names in id order, for the `label` output (default: the ids as strings).

    Returns:
        A function of a 1-D string tensor returning `tokens` [batch, seq_length] string ("" past the text),
        `token_start`, `token_end` [batch, seq_length] int32 character offsets (-1 past the text; 0, 0 at
        [CLS] / [SEP]), `attributions` [batch, seq_length] float32 (0 past the text), `num_tokens` [batch],
        `label_id` [batch] int32 (the predicted class; 0 for regression), `label` [batch] string ("" for regression), `target_score`, `baseline_score`
        [batch] float32.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"explain steps must be a positive int, got {steps!r}.")
    alphas, weights = (tf.constant(v, tf.float32) for v in integration_points(steps))
    table = model.encoder.embeddings.word_embeddings
    vocabulary = tf.constant(tokenizer.vocabulary)
    specials = tf.constant([tokenizer.cls_id, tokenizer.sep_id])
    regression = model.num_classes == 1
    names = tf.constant([str(n) for n in (labels or range(model.num_classes))] if not regression else [""])

    def one(text):
        out = tokenizer(tf.reshape(text, [1]), seq_length=seq_length, return_offsets=True)
        n = tf.maximum(tf.reduce_sum(out["input_mask"][0]), 1)
        features = {k: out[k][:, :n] for k in ("input_word_ids", "input_mask", "input_type_ids")}
        ids = features["input_word_ids"]
        x = tf.gather(table, ids)
        keep = tf.reduce_any(ids[..., None] == specials, axis=-1)
        base = tf.gather(table, tf.where(keep, ids, tokenizer.pad_id))
        both = model.outputs_from_word_vectors(_repeat(features, 2), tf.concat([x, base], 0))  # x, baseline
        if regression:
            label, target_weights, softmax = tf.constant(0), tf.ones([1, 1]), False
        else:
            label = tf.cast(tf.argmax(tf.cast(both[0], tf.float32)), tf.int32)
            target_weights, softmax = tf.one_hot([label], model.num_classes), True
        ends = _score(both, target_weights, softmax)
        path = base + alphas[:, None, None] * (x - base)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(path)
            scores = _score(model.outputs_from_word_vectors(_repeat(features, steps), path), target_weights, softmax)
        summed = tf.tensordot(weights, tape.gradient(scores, path), axes=1)
        attributions = tf.reduce_sum((x - base)[0] * summed, axis=-1)
        pad = seq_length - n
        offsets = char_offsets(tf.reshape(text, [1]), tf.concat([out["start_offsets"][:, :n],
                                                                  out["end_offsets"][:, :n]], axis=1))[0]
        start, end = offsets[:n], offsets[n:]
        return {"tokens": tf.pad(tf.gather(vocabulary, ids[0]), [[0, pad]]),
                "token_start": tf.pad(start, [[0, pad]], constant_values=-1),
                "token_end": tf.pad(end, [[0, pad]], constant_values=-1),
                "attributions": tf.pad(attributions, [[0, pad]]), "num_tokens": n, "label_id": label,
                "label": tf.gather(names, label),
                "target_score": ends[0], "baseline_score": ends[1]}

    signature = {"tokens": tf.TensorSpec([seq_length], tf.string),
                 "token_start": tf.TensorSpec([seq_length], tf.int32),
                 "token_end": tf.TensorSpec([seq_length], tf.int32),
                 "attributions": tf.TensorSpec([seq_length], tf.float32),
                 "num_tokens": tf.TensorSpec([], tf.int32), "label_id": tf.TensorSpec([], tf.int32),
                 "label": tf.TensorSpec([], tf.string),
                 "target_score": tf.TensorSpec([], tf.float32), "baseline_score": tf.TensorSpec([], tf.float32)}

    def explain(text):
        return tf.map_fn(one, tokenizer.string_batch(text), fn_output_signature=signature)

    return explain


def _repeat(features, n):
    return {k: tf.repeat(v, n, axis=0) for k, v in features.items()}
