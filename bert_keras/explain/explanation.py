"""`Explanation`: what one attribution method says about one input, in a form people and JSON read.

Plain Python and numpy (a dataclass): explanations leave the model's graph, go to reports, JSON files and the
faithfulness measures, so they hold no tensors.
"""

import dataclasses
import math

import numpy as np

SPECIAL_PIECES = frozenset({"[CLS]", "[SEP]", "[PAD]"})  # never words, never ranked


@dataclasses.dataclass
class Explanation:
    """One input's attributions: one score per WordPiece, and per word (its pieces summed).

    Attributes:
        text: the input text (the first segment of a pair).
        method: "integrated_gradients", "gradient_x_input", "attention" or "rollout".
        target: what was explained, in words (e.g. `probability of "fresh"`, `logit of class 1`,
            `answer start logit`).
        tokens: the WordPieces the model saw, [CLS] and [SEP] included, padding excluded.
        token_segment: 0 for `text`'s pieces (and [CLS]), 1 for `pair_text`'s.
        token_start, token_end: character offsets of each piece in its own segment's text (`text[start:end]`
            is the piece's source; 0, 0 for [CLS] / [SEP]).
        attributions: float, one per token: the method's score of that token for `target`.
        words, word_start, word_end, word_segment, word_attributions: whole words (a piece and the `##` pieces
            after it), their character spans, segments and summed attributions; [CLS] / [SEP] are not words.
        label: the model's prediction for the input (class name or id, entity type, answer text).
        target_score: the target's value at the input, f(x) (None for attention views).
        baseline_score: f(baseline) for integrated gradients, else None.
        completeness_error: |sum(attributions) - (f(x) - f(baseline))| / |f(x) - f(baseline)| for integrated
            gradients (nan when f(x) == f(baseline)), else None. Small (< 0.01) means enough steps.
        steps: integration steps (integrated gradients), else None.
        pair_text: the second segment of a pair input, else None.
        details: task extras, JSON-ready (the entity for a tagger, the answer span for QA, the class
            probabilities for a classifier).
        attention: attention probabilities [layers, heads, tokens, tokens] (method "attention"), else None.
        rollout: attention rollout [tokens, tokens] (method "rollout"), else None.
    """

    text: str
    method: str
    target: str
    tokens: list
    token_segment: list
    token_start: list
    token_end: list
    attributions: np.ndarray
    words: list
    word_start: list
    word_end: list
    word_segment: list
    word_attributions: np.ndarray
    label: object = None
    target_score: float = None
    baseline_score: float = None
    completeness_error: float = None
    steps: int = None
    pair_text: str = None
    details: dict = dataclasses.field(default_factory=dict)
    attention: np.ndarray = None
    rollout: np.ndarray = None

    def to_dict(self, include_maps=False):
        """JSON-ready fields (lists, floats, None for a non-finite number, which strict JSON cannot hold); the
        attention and rollout matrices only with `include_maps`."""
        out = {}
        for field in dataclasses.fields(self):
            if field.name in ("attention", "rollout") and not include_maps:
                continue
            out[field.name] = _json_ready(getattr(self, field.name))
        return out

    def summary(self, words=3):
        """One line: label, target = score (completeness error), the top words."""
        score = "n/a" if self.target_score is None or not math.isfinite(self.target_score) else \
            f"{self.target_score:.3f}"
        if self.completeness_error is not None and math.isfinite(self.completeness_error):
            score += f", completeness error {self.completeness_error:.1e}"
        top = ", ".join(f"{w} {a:+.3f}" for w, a in self.top_words(words))
        return f"{self.label}: {self.target} = {score}; top words: {top}"

    def top_words(self, k=5):
        """The `k` words with the largest attributions, as (word, attribution), largest first."""
        order = np.argsort(-np.asarray(self.word_attributions), kind="stable")[:k]
        return [(self.words[i], float(self.word_attributions[i])) for i in order]


def words_of(tokens, token_segment, token_start, token_end, attributions, special_tokens, texts):
    """(words, starts, ends, segments, attributions): pieces joined into words (a piece and the `##` pieces
    after it in the same segment), specials left out; `texts` = (text, pair_text) give the words' strings."""
    words, starts, ends, segments, sums = [], [], [], [], []
    for i, token in enumerate(tokens):
        if token in special_tokens:
            continue
        segment = token_segment[i]
        joins = token.startswith("##") and words and segments[-1] == segment and starts[-1] <= token_start[i]
        if joins:
            ends[-1] = max(ends[-1], token_end[i])
            sums[-1] += float(attributions[i])
        else:
            starts.append(token_start[i])
            ends.append(token_end[i])
            segments.append(segment)
            sums.append(float(attributions[i]))
            words.append(None)
    for w in range(len(words)):
        source = texts[segments[w]] or ""
        words[w] = source[starts[w]:ends[w]]
    return words, starts, ends, segments, np.asarray(sums, dtype="float32")


def _json_ready(value):
    if isinstance(value, np.ndarray):
        return [_json_ready(v) for v in value.tolist()] if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def completeness_error(attributions_sum, target_score, baseline_score):
    """|sum(attributions) - (f(x) - f(baseline))| / |f(x) - f(baseline)|; nan when f(x) and f(baseline) agree to
    float32 rounding (the ratio then means nothing).

    >>> round(completeness_error(0.49, 0.9, 0.4), 6)
    0.02
    """
    delta = target_score - baseline_score
    if abs(delta) <= 1e-6 * max(abs(target_score), abs(baseline_score), 1e-30):
        return float("nan")
    return abs(attributions_sum - delta) / abs(delta)
