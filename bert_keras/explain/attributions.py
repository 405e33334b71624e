"""Integrated gradients and gradient x input on the word-embedding output of the task models.

What Captum's `LayerIntegratedGradients` / `LayerGradientXActivation` on `embeddings.word_embeddings` compute for
PyTorch BERT, for our Keras models: the attribution of a WordPiece is (x - x') . integral of the target's
gradient along the straight path from the baseline's word vectors x' to the input's x, summed over the hidden
units. Leans on TensorFlow's `GradientTape` inside one `tf.function` per model (Keras 3 has no backend-neutral
gradient API, and this library's backend is TensorFlow) and on each task model's `outputs_from_word_vectors`,
which runs the model's own layers from given word vectors. The integration rule's points and weights are
Captum's (`gausslegendre` by default), so the numbers match Captum's to float rounding.

Attributions are computed in float32 (a mixed-precision model is explained through a float32 copy): bfloat16's
8-bit mantissa would break the completeness check (sum of attributions = f(x) - f(baseline)).
"""

import logging

import numpy as np
import tensorflow as tf

from bert_keras.explain.explanation import SPECIAL_PIECES, Explanation, completeness_error, words_of

logger = logging.getLogger(__name__)

INTEGRATION_RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
BASELINES = ("pad", "mask", "zero")
TOKEN_BUDGET = 8192  # interpolated tokens per gradient call (rows x sequence length), when not given


def integration_points(steps, rule="gausslegendre"):
    """(alphas, weights) of an integration rule on [0, 1], as Captum's `approximation_parameters` defines them.

    >>> alphas, weights = integration_points(2)
    >>> [round(float(a), 4) for a in alphas], [round(float(w), 4) for w in weights]
    ([0.2113, 0.7887], [0.5, 0.5])
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}.")
    n = int(steps)
    if rule == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (1.0 + x), 0.5 * w
    if rule not in INTEGRATION_RULES:
        raise ValueError(f"Unknown integration rule {rule!r}; use one of {INTEGRATION_RULES}.")
    if rule == "riemann_trapezoid":
        if n < 2:
            raise ValueError("riemann_trapezoid needs steps >= 2.")
        w = np.full(n, 1.0 / (n - 1))
        w[0] = w[-1] = 0.5 / (n - 1)
        return np.linspace(0.0, 1.0, n), w
    alphas = {"riemann_left": np.linspace(0.0, 1.0 - 1.0 / n, n), "riemann_right": np.linspace(1.0 / n, 1.0, n),
              "riemann_middle": np.linspace(0.5 / n, 1.0 - 0.5 / n, n)}[rule]
    return alphas, np.full(n, 1.0 / n)


def integrated_gradients(model, x, steps=64, baseline="pad", target=None, rule="gausslegendre",
                         internal_batch_size=None):
    """Integrated gradients (Sundararajan et al. 2017) of a task model's prediction, per WordPiece.

    Args:
        model: a `BertClassifier`, `BertTokenClassifier` or `BertSpanQA` with its preprocessor.
        x: classifier: texts, or `(texts_a, texts_b)` for pairs; tagger: texts; QA: `(questions, contexts)`.
        steps: integration points (64: median completeness error well under 1% on real reviews).
        baseline: the reference input: "pad" ([CLS] [PAD] ... [SEP]: every real piece replaced by [PAD], the
            specials and the attention mask kept), "mask" (by [MASK]) or "zero" (zero word vectors).
        target: classifier only: None (the predicted class's probability), a class id or name (its
            probability), or "logit" (the predicted class's logit). Regression explains the score. A tagger
            explains each predicted entity through the sum of its words' logits for their predicted tags; QA
            the answer's start logit and its end logit.
        rule: "gausslegendre" (Captum's default) or one of Captum's Riemann rules.
        internal_batch_size: interpolated inputs per gradient call (default: up to 8,192 tokens a call).

    Returns:
        classifier: one `Explanation` per input; tagger: per text, a list with one per predicted entity; QA:
        per question, [answer start, answer end]. Each carries `target_score` f(x), `baseline_score`
        f(baseline) and `completeness_error`.

    Example:
    >>> from bert_keras import BertClassifier
    >>> from bert_keras.data.real_corpora import minilm_dir
    >>> model = BertClassifier.from_pretrained(minilm_dir(), num_classes=2, precision="float32")
    >>> [e] = integrated_gradients(model, ["a gorgeous, witty film"], steps=32)
    >>> e.tokens[:3], e.completeness_error < 0.05
    (['[CLS]', 'a', 'gorgeous'], True)
    """
    alphas, weights = integration_points(steps, rule)
    return _attributor(model).explain(x, "integrated_gradients", target, baseline, alphas, weights,
                                      internal_batch_size)


def gradient_x_input(model, x, target=None):
    """Gradient x input on the word vectors (Captum's `LayerGradientXActivation`), per WordPiece: one gradient
    pass, no completeness property. Arguments and return value as `integrated_gradients`."""
    return _attributor(model).explain(x, "gradient_x_input", target, "pad", None, None, None)


# ----------------------------------------------------------------------------------------------------- engine

def _attributor(model):
    """The model's `_Attributor` (made once per model and preprocessor, kept on the model as its decoding
    functions are), its float32 copy brought up to the model's current weights."""
    key = id(model.preprocessor)
    cached = getattr(model, "_explain_attributor", None)
    if cached is None or cached[0] != key:
        cached = (key, _Attributor(model))
        object.__setattr__(model, "_explain_attributor", cached)
    cached[1].sync()
    return cached[1]


def task_kind(model):
    """"classifier", "tagger" or "qa" for a task model with a preprocessor; a ValueError naming the fix otherwise."""
    from bert_keras.models.bert_classifier import BertClassifier
    from bert_keras.models.bert_span_qa import BertSpanQA
    from bert_keras.models.bert_token_classifier import BertTokenClassifier

    kinds = ((BertClassifier, "classifier"), (BertTokenClassifier, "tagger"), (BertSpanQA, "qa"))
    kind = next((name for cls, name in kinds if isinstance(model, cls)), None)
    if kind is None:
        raise ValueError(f"Explanations need a BertClassifier, BertTokenClassifier or BertSpanQA, got "
                         f"{type(model).__name__}.")
    if model.preprocessor is None:
        raise ValueError(f"This {type(model).__name__} has no preprocessor, and explanations start from text: set "
                         "model.preprocessor (a BertTextPreprocessor with the model's vocab) or load the model with "
                         "from_pretrained.")
    long_document = getattr(model.preprocessor, "long_document", "truncate")
    if long_document != "truncate":
        raise ValueError(f"This model reads long texts with long_document={long_document!r}, and explanations read "
                         "the first seq_length pieces of a text (what it predicts from would differ): explain a "
                         "truncating view of it, model.preprocessor = BertTextPreprocessor(tokenizer, seq_length).")
    return kind


def float32_model(model):
    """`model` itself when it computes in float32, else a float32 copy of it (`plain_copy`; its weights are
    brought up to date by `_Attributor.sync` before each explanation)."""
    if model.encoder.embeddings.dtype_policy.compute_dtype == "float32":
        return model
    copy = model.plain_copy(dtype="float32")
    copy.preprocessor = model.preprocessor
    return copy


def _score(outputs, weights, softmax):
    """sum(weights * outputs) per row, with softmax over the last axis first if asked; zero-weight entries are
    left out (QA's padding logits are -1e9)."""
    total = 0.0
    for out, w in zip(tf.nest.flatten(outputs), tf.nest.flatten(weights)):
        out = tf.cast(out, tf.float32)
        if softmax:
            out = tf.nn.softmax(out, axis=-1)
        w = tf.broadcast_to(tf.cast(w, tf.float32), tf.shape(out))
        product = tf.where(w != 0, out * w, tf.zeros_like(out))
        total += tf.reduce_sum(tf.reshape(product, [tf.shape(out)[0], -1]), axis=-1)
    return total


class _Attributor:
    """Per-model state: the float32 model, its tokenizer, and compiled forward and gradient functions."""

    def __init__(self, model):
        self.kind = task_kind(model)
        self.model = float32_model(model)
        self.source = model
        preprocessor = model.preprocessor
        self.tokenizer, self.seq_length = preprocessor.tokenizer, preprocessor.seq_length
        self.specials = SPECIAL_PIECES
        self.table = self.model.encoder.embeddings.word_embeddings
        m = self.model
        # Fixed signatures with unknown batch and length: one trace per model, whatever the inputs' lengths.
        features = {name: tf.TensorSpec([None, None], tf.int32) for name in
                    ("input_word_ids", "input_mask", "input_type_ids")}
        vectors = tf.TensorSpec([None, None, int(self.table.shape[-1])], tf.float32)
        def forward(features, vectors):
            return m.outputs_from_word_vectors(features, vectors)

        self.forward = tf.function(forward, input_signature=[features, vectors])
        if self.kind == "classifier":
            weights = tf.TensorSpec([1, m.num_classes], tf.float32)
        elif self.kind == "tagger":
            weights = tf.TensorSpec([1, None, m.num_labels], tf.float32)
        else:
            weights = {k: tf.TensorSpec([1, None], tf.float32) for k in ("end_logits", "start_logits")}

        def gradients(features, vectors, step_weights, weights, softmax):
            with tf.GradientTape(watch_accessed_variables=False) as tape:  # d/d vectors only, not the weights
                tape.watch(vectors)
                scores = _score(m.outputs_from_word_vectors(features, vectors), weights, softmax)
            grads = tape.gradient(scores, vectors)
            return scores, tf.tensordot(step_weights, grads, axes=1)

        def of_logits(features, vectors, step_weights, weights):
            return gradients(features, vectors, step_weights, weights, False)

        def of_probabilities(features, vectors, step_weights, weights):
            return gradients(features, vectors, step_weights, weights, True)

        signature = [features, vectors, tf.TensorSpec([None], tf.float32), weights]
        self._gradients = {False: tf.function(of_logits, input_signature=signature),
                           True: tf.function(of_probabilities, input_signature=signature)}

    def sync(self):
        """Copies the model's current weights into its float32 copy, if it has one."""
        if self.model is not self.source:
            self.source.copy_weights_to(self.model)

    def gradients(self, features, vectors, step_weights, weights, softmax):
        """(target scores [n], sum over rows of step_weights[i] x d score_i / d vectors_i [1, L, H])."""
        return self._gradients[bool(softmax)](features, vectors, np.asarray(step_weights, "float32"),
                                              _as_float32(weights))

    # -------------------------------------------------------------------------------------------- inputs

    def _columns(self, x):
        """(texts, pair texts or None) as lists of str."""
        from bert_keras.preprocessing.bert_text_preprocessor import text_column

        def strings(values, name):
            return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in text_column(values, name)]

        if self.kind == "qa" or (self.kind == "classifier" and isinstance(x, tuple)):
            if not isinstance(x, tuple) or len(x) != 2:
                raise ValueError("Span QA explanations take x=(questions, contexts), two lists of strings."
                                 if self.kind == "qa" else "Sentence pairs are a tuple (texts_a, texts_b); got a "
                                 f"tuple of {len(x)}.")
            names = ("questions", "contexts") if self.kind == "qa" else ("texts_a", "texts_b")
            a, b = strings(x[0], names[0]), strings(x[1], names[1])
            if len(a) != len(b):
                raise ValueError(f"{len(a)} first segments but {len(b)} second segments.")
            return a, b
        return strings(x, "texts"), None

    def _features(self, text, pair):
        """Features [1, L] of one input (L = its packed length) and its token table."""
        out = self.tokenizer([text], None if pair is None else [pair], seq_length=self.seq_length,
                             return_offsets=True)
        out = {k: np.asarray(v) for k, v in out.items()}
        n = max(int(out["input_mask"][0].sum()), 1)
        features = {k: out[k][:, :n].astype("int32") for k in ("input_word_ids", "input_mask", "input_type_ids")}
        ids = features["input_word_ids"][0]
        segment = features["input_type_ids"][0].tolist()
        sources = (text, pair)
        starts, ends = [], []
        for i in range(n):
            src = sources[segment[i]] or ""
            starts.append(_char_offset(src, int(out["start_offsets"][0, i])))
            ends.append(_char_offset(src, int(out["end_offsets"][0, i])))
        tokens = [self.tokenizer.vocabulary[t] for t in ids]
        return features, {"tokens": tokens, "token_segment": segment, "token_start": starts, "token_end": ends}

    def _baseline(self, features, baseline):
        if baseline not in BASELINES:
            raise ValueError(f"Unknown baseline {baseline!r}; use one of {BASELINES}.")
        ids = features["input_word_ids"]
        keep = np.isin(ids, [self.tokenizer.cls_id, self.tokenizer.sep_id]) | (features["input_mask"] == 0)
        x = tf.gather(self.table, ids)
        if baseline == "zero":
            return x, tf.where(keep[..., None], x, tf.zeros_like(x))
        fill = self.tokenizer.pad_id if baseline == "pad" else self.tokenizer.mask_id
        if fill is None:
            raise ValueError("baseline='mask' needs a [MASK] token in the vocabulary; use baseline='pad'.")
        return x, tf.gather(self.table, np.where(keep, ids, fill))

    # ------------------------------------------------------------------------------------------- targets

    def _targets(self, features, outputs, table, text, pair, target):
        """[(target description, weights, softmax, label, details)] for one input, from the model's outputs at x."""
        m = self.model
        if self.kind == "classifier":
            logits = np.asarray(outputs)[0]
            if m.num_classes == 1:
                if target not in (None, "logit", "score"):
                    raise ValueError(f"A regression model explains its score; target must be None, got {target!r}.")
                return [("score", np.ones((1, 1), "float32"), False, None, {"score": float(logits[0])})]
            names = list(m.labels) if m.labels else list(range(m.num_classes))
            probs = _softmax(logits)
            predicted = int(probs.argmax())
            cls, softmax = predicted, True
            if target == "logit":
                softmax = False
            elif target is not None:
                cls = _class_index(target, names)
            weights = np.zeros((1, m.num_classes), "float32")
            weights[0, cls] = 1.0
            what = f"{'logit' if not softmax else 'probability'} of {_quote(names[cls])}"
            details = {"probabilities": {str(n): float(p) for n, p in zip(names, probs)},
                       "predicted": names[predicted], "class": names[cls]}
            return [(what, weights, softmax, names[predicted], details)]
        if self.kind == "tagger":
            if target is not None:
                raise ValueError(f"A tagger explains each predicted entity; target must be None, got {target!r}.")
            logits = np.asarray(outputs)[0]
            best = logits.argmax(-1)
            found = []
            for entity in self.source.predict_entities([text])[0]:
                weights = np.zeros((1,) + logits.shape, "float32")
                for p, token in enumerate(table["tokens"]):
                    if (token not in self.specials and not token.startswith("##")
                            and table["token_start"][p] >= entity["start"] and table["token_end"][p] <= entity["end"]):
                        weights[0, p, best[p]] = 1.0
                if weights.any():
                    found.append((f"logits of the entity {_quote(entity['text'])} ({entity['type']})", weights, False,
                                  entity["type"], {"entity": entity}))
            return found
        # QA: the model's own answer (`predict`: every window searched), then the start and end logits of its
        # pieces in the first window, which is what these features hold.
        if target is not None:
            raise ValueError(f"QA explains the answer's start and end; target must be None, got {target!r}.")
        answer = self.source.predict(([text], [pair]))[0]
        if answer["start"] < 0:
            return []  # no answer: nothing to attribute
        inside = [p for p, (s, t) in enumerate(zip(table["token_segment"], table["tokens"]))
                  if s == 1 and t not in self.specials and table["token_start"][p] >= answer["start"]
                  and table["token_end"][p] <= answer["end"]]
        if not inside:
            logger.warning("The answer %r lies past the first window of its context (seq_length %d): not explained.",
                           answer["text"], self.seq_length)
            return []
        i, j = inside[0], inside[-1]
        found = []
        for name, pos in (("start", i), ("end", j)):
            w = {k: np.zeros((1, len(table["tokens"])), "float32") for k in ("start_logits", "end_logits")}
            w[f"{name}_logits"][0, pos] = 1.0
            found.append((f"answer {name} logit", w, False, answer["text"], {"answer": answer, "position": pos}))
        return found

    # --------------------------------------------------------------------------------------------- explain

    def explain(self, x, method, target, baseline, alphas, step_weights, internal_batch_size):
        texts, pairs = self._columns(x)
        results = []
        for n, text in enumerate(texts):
            pair = None if pairs is None else pairs[n]
            features, table = self._features(text, pair)
            vectors, base = self._baseline(features, baseline)
            # The input and the baseline in one forward pass: the prediction (which picks the target), f(x) and
            # f(baseline); the path's gradients then cover the rule's points alone.
            both = self.forward(_repeat(features, 2), tf.concat([vectors, base], axis=0))
            outputs = tf.nest.map_structure(lambda t: t[:1], both)
            found = []
            for what, weights, softmax, label, details in self._targets(features, outputs, table, text, pair, target):
                if method == "integrated_gradients":
                    fx, fb = (float(v) for v in _score(both, _as_float32(weights), softmax))
                    attributions = self._integrate(features, vectors, base, weights, softmax, alphas, step_weights,
                                                   internal_batch_size)
                    error = completeness_error(float(attributions.sum()), fx, fb)
                    extra = dict(baseline_score=fb, completeness_error=error, steps=len(alphas))
                else:
                    scores, grads = self.gradients(features, vectors, np.ones(1, "float32"), weights, softmax)
                    attributions = tf.reduce_sum(vectors[0] * grads, axis=-1).numpy()
                    fx, extra = float(scores[0]), {}
                found.append(self._explanation(text, pair, method, what, table, attributions, label, fx, details,
                                               **extra))
            results.append(found[0] if self.kind == "classifier" else found)
        return results

    def _integrate(self, features, x, base, weights, softmax, alphas, step_weights, internal_batch_size):
        """Attributions [L]: (x - baseline) . the rule's weighted sum of the target's gradients along the path."""
        length = int(x.shape[1])
        if internal_batch_size is not None and (isinstance(internal_batch_size, bool)
                                                or not isinstance(internal_batch_size, int) or internal_batch_size < 1):
            raise ValueError(f"internal_batch_size must be a positive int or None, got {internal_batch_size!r}.")
        rows = internal_batch_size or max(1, TOKEN_BUDGET // max(length, 1))
        alphas, step_weights = np.asarray(alphas, "float32"), np.asarray(step_weights, "float32")
        total = tf.zeros_like(x[0])
        for lo in range(0, len(alphas), rows):
            a = tf.constant(alphas[lo:lo + rows])[:, None, None]
            _, summed = self.gradients(_repeat(features, int(a.shape[0])), base + a * (x - base),
                                       step_weights[lo:lo + rows], weights, softmax)
            total += summed
        return tf.reduce_sum((x - base)[0] * total, axis=-1).numpy()

    def _explanation(self, text, pair, method, what, table, attributions, label, fx, details, **extra):
        attributions = np.asarray(attributions, "float32")
        words, starts, ends, segments, word_attr = words_of(
            table["tokens"], table["token_segment"], table["token_start"], table["token_end"], attributions,
            self.specials, (text, pair))
        return Explanation(text=text, pair_text=pair, method=method, target=what, tokens=table["tokens"],
                           token_segment=table["token_segment"], token_start=table["token_start"],
                           token_end=table["token_end"], attributions=attributions, words=words, word_start=starts,
                           word_end=ends, word_segment=segments, word_attributions=word_attr, label=label,
                           target_score=fx, details=details, **extra)


def _as_float32(weights):
    return {k: np.asarray(v, "float32") for k, v in weights.items()} if isinstance(weights, dict) \
        else np.asarray(weights, "float32")


def _repeat(features, n):
    return {k: np.repeat(v, n, axis=0) for k, v in features.items()}


def _softmax(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def _class_index(target, names):
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= target < len(names):
            raise ValueError(f"target class {target} is out of range: the model has {len(names)} classes.")
        return int(target)
    if isinstance(target, str) and target in [str(n) for n in names]:
        return [str(n) for n in names].index(target)
    if isinstance(target, str) and target.isdigit() and int(target) < len(names):  # an id given as text (a flag)
        return int(target)
    raise ValueError(f"target must be None, 'logit', a class id or one of the class names {names}; got {target!r}.")


def _quote(name):
    return f'"{name}"' if isinstance(name, str) else f"class {name}"


def _char_offset(text, byte_offset):
    """The character offset in `text` of a UTF-8 byte offset (the tokenizer's offsets are bytes)."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))
