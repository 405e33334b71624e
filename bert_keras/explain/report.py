"""Pictures and a page of `Explanation`s: text heatmaps, attention grids, rollout maps, one HTML report.

Leans on matplotlib's Agg renderer, used through `matplotlib.figure.Figure` and `FigureCanvasAgg` directly: no
pyplot and no global state, so importing or calling this module never changes a user's backend. Colours are one
diverging scale everywhere: red for attributions that push the target up, blue for those that pull it down, white
at 0, with symmetric limits at the explanation's largest |attribution|.
"""

import base64
import html
import io
import math
import textwrap
import unicodedata
import warnings

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_CMAP = "bwr"
_FONT = 10  # points; the text heatmap's monospace font
_CHAR_W = 0.6 * _FONT / 72  # inches per monospace character
_LINE_H = 0.32  # inches per text line
_MAX_LINES = 40  # the text heatmap's height cap; later words are counted, not drawn


def _write_atomic(path, data):
    """Writes `data` (bytes or str) to `path` atomically (`bert_keras.data.utf8_file.atomic_output`)."""
    from bert_keras.data.utf8_file import atomic_output

    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def _png(fig, path):
    """The figure as PNG bytes (Agg, missing-glyph warnings silenced), also written to `path` if given."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*Glyph .* missing")
        warnings.filterwarnings("ignore", message=r"(?s).*does not support")
        fig.savefig(buf, format="png", dpi=100)
    data = buf.getvalue()
    if path is not None:
        _write_atomic(path, data)
    return data


def _scale(values):
    """The colour scale's limit: the largest finite |value|, or 1 when there is none (all zero or empty)."""
    values = np.abs(np.asarray(values, dtype="float64"))
    values = values[np.isfinite(values)]
    top = float(values.max()) if values.size else 0.0
    return top if top > 0 else 1.0


def _rgba(value, scale):
    """The attribution's colour on the red/blue scale, as floats in [0, 1] (white for 0 and non-finite)."""
    value = float(value)
    position = 0.5 if not math.isfinite(value) else 0.5 + 0.5 * max(-1.0, min(1.0, value / scale))
    return matplotlib.colormaps[_CMAP](position)


def _fmt(value, digits=4):
    """A short display of a number (or anything else); '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}g}"
    return str(value)


def _title(explanation):
    """`integrated gradients - probability of "fresh" = 0.97 (label: fresh)`, plus the completeness error."""
    e = explanation
    line = f"{e.method.replace('_', ' ')} - {e.target} = {_fmt(e.target_score, 3)} (label: {e.label})"
    if e.completeness_error is not None:
        line += f", completeness error {_fmt(e.completeness_error, 3)}"
    return line


def _width(text):
    """Display width in monospace cells: East Asian wide / full-width characters (and emoji) count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def text_heatmap_png(explanation, path=None, level="word", max_width_chars=90):
    """Draws the text with each word (or WordPiece) on a background coloured by its attribution.

    Args:
        explanation: an `Explanation`.
        path: if given, the PNG is also written there (atomically).
        level: "word" (whole words; a pair's second segment follows a "|") or "token" (the WordPieces the
            model saw, [CLS] and [SEP] included).
        max_width_chars: line width in characters; the text wraps, and at most 40 lines are drawn.

    Returns:
        The PNG's bytes.
    """
    e = explanation
    if level == "word":
        items, segment = [], 0
        for word, value, seg in zip(e.words, e.word_attributions, e.word_segment):
            if seg != segment:
                items.append(("|", None))
                segment = seg
            items.append((word, value))
        scale = _scale(e.word_attributions)
    elif level == "token":
        items, scale = list(zip(e.tokens, e.attributions)), _scale(e.attributions)
    else:
        raise ValueError(f'level must be "word" or "token", got {level!r}')

    lines, line, used = [], [], 0
    for text, value in items:
        text = text if _width(text) <= max_width_chars else text[:max_width_chars - 1] + "…"
        width = _width(text) + 1
        if line and used + width > max_width_chars:
            lines.append(line)
            line, used = [], 0
        line.append((text, value, used))
        used += width
    if line:
        lines.append(line)
    hidden = sum(len(line) for line in lines[_MAX_LINES:])
    lines = lines[:_MAX_LINES]

    rows = max(len(lines), 1) + (1 if hidden else 0)
    width_in = max(max_width_chars * _CHAR_W + 0.6, 6.0)
    title = textwrap.wrap(_title(e), int((width_in - 0.6) / (0.65 * (_FONT + 1) / 72))) or [""]
    height_in = 0.8 + (len(title) + rows) * _LINE_H
    fig = Figure(figsize=(width_in, height_in))
    fig.text(0.3 / width_in, 1 - 0.2 / height_in, "\n".join(title), fontsize=_FONT + 1, weight="bold", va="top",
             parse_math=False)
    top = 1 - (0.2 + (len(title) - 0.7) * _LINE_H) / height_in
    for r, line in enumerate(lines):
        y = top - (r + 1.3) * _LINE_H / height_in
        for text, value, offset in line:
            box = None if value is None else dict(facecolor=_rgba(value, scale), edgecolor="none", pad=1.5)
            fig.text((0.3 + offset * _CHAR_W) / width_in, y, text, family="monospace", fontsize=_FONT,
                     va="center", bbox=box, parse_math=False)
    if not lines:
        fig.text(0.3 / width_in, top - 1.3 * _LINE_H / height_in, "(no words)", family="monospace",
                 fontsize=_FONT, va="center", color="gray")
    if hidden:
        fig.text(0.3 / width_in, top - (len(lines) + 1.3) * _LINE_H / height_in,
                 f"... {hidden} more not drawn", fontsize=_FONT, va="center", color="gray")
    fig.text(0.3 / width_in, 0.12 / height_in, f"red: for, blue: against (full colour at |attribution| = "
             f"{_fmt(scale, 3)})", fontsize=_FONT - 2, color="dimgray", parse_math=False)
    return _png(fig, path)


def _label_axes(ax, tokens, x=True, y=True):
    """Token tick labels on an axes' x and/or y axis (none otherwise)."""
    ticks = range(len(tokens))
    ax.set_xticks(ticks if x else [], [str(t) for t in tokens] if x else [], rotation=90, fontsize=6)
    ax.set_yticks(ticks if y else [], [str(t) for t in tokens] if y else [], fontsize=6)


def attention_grid_png(explanation, path=None, max_tokens=48):
    """Draws a layers x heads grid of the attention maps (rows: layers, columns: heads).

    Args:
        explanation: an `Explanation` with `attention` [layers, heads, tokens, tokens].
        path: if given, the PNG is also written there (atomically).
        max_tokens: only the first `max_tokens` tokens are drawn; token labels only when there are <= 24.

    Returns:
        The PNG's bytes.

    Raises:
        ValueError: the explanation has no attention maps.
    """
    if explanation.attention is None:
        raise ValueError("this explanation has no attention maps (explanation.attention is None): compute it "
                         "with bert_keras.explain.attention_maps")
    attention = np.asarray(explanation.attention, dtype="float32")[:, :, :max_tokens, :max_tokens]
    layers, heads, n = attention.shape[:3]
    tokens = list(explanation.tokens)[:n]
    labelled = n <= 24
    cell = 1.1 if not labelled else 1.1 + 0.05 * n
    fig = Figure(figsize=(heads * cell + (1.2 if labelled else 0.6), layers * cell + (1.4 if labelled else 0.8)))
    axes = fig.subplots(layers, heads, squeeze=False)
    for i in range(layers):
        for j in range(heads):
            ax = axes[i][j]
            ax.imshow(attention[i, j], cmap="viridis", vmin=0.0, vmax=max(float(attention[i, j].max()), 1e-9))
            _label_axes(ax, tokens, x=labelled and i == layers - 1, y=labelled and j == 0)
            if i == 0:
                ax.set_title(f"head {j}", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"layer {i}", fontsize=7)
    fig.suptitle(f"attention: {explanation.text[:80]}", fontsize=9)
    return _png(fig, path)


def rollout_png(explanation, path=None, max_tokens=64):
    """Draws the attention rollout [tokens, tokens] as one heatmap with token labels on both axes.

    Args:
        explanation: an `Explanation` with `rollout`.
        path: if given, the PNG is also written there (atomically).
        max_tokens: only the first `max_tokens` tokens are drawn.

    Returns:
        The PNG's bytes.

    Raises:
        ValueError: the explanation has no rollout.
    """
    if explanation.rollout is None:
        raise ValueError("this explanation has no rollout (explanation.rollout is None): compute it with "
                         "bert_keras.explain.attention_rollout")
    rollout = np.asarray(explanation.rollout, dtype="float32")[:max_tokens, :max_tokens]
    n = rollout.shape[0]
    size = 3 + 0.12 * n
    fig = Figure(figsize=(size + 1, size))
    ax = fig.subplots()
    image = ax.imshow(rollout, cmap="viridis")
    _label_axes(ax, list(explanation.tokens)[:n])
    ax.set_xlabel("attended to", fontsize=8)
    ax.set_ylabel("from", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(f"attention rollout: {explanation.text[:60]}", fontsize=9)
    fig.tight_layout()
    return _png(fig, path)


_CSS = """body{font-family:sans-serif;margin:2em;color:#222}section{border-top:1px solid #ccc;padding:1em 0}
.text{font-family:monospace;line-height:2;font-size:15px}.text span{padding:2px 1px;border-radius:3px}
.sep{color:#888;padding:0 .5em}table{border-collapse:collapse;font-size:13px;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}img{max-width:100%;display:block;margin:.5em 0}
.legend{font-size:12px;color:#666}"""


def _css_rgba(value, scale):
    r, g, b, _ = _rgba(value, scale)
    return f"rgba({round(r * 255)},{round(g * 255)},{round(b * 255)},1)"


def _html_text(e, scale):
    """The text (and pair text after a "|") with each word in a span coloured by its attribution."""
    parts = []
    for segment, source in enumerate([e.text or "", e.pair_text or ""]):
        words = [w for w in range(len(e.words)) if e.word_segment[w] == segment]
        if segment and not (words or source):
            break
        if segment:
            parts.append('<span class="sep">|</span>')
        position = 0
        for w in sorted(words, key=lambda w: e.word_start[w]):
            start = max(e.word_start[w], position)
            value = float(e.word_attributions[w])
            parts.append(html.escape(source[position:start]))
            parts.append(f'<span style="background:{_css_rgba(value, scale)}" title="{value!r}">'
                         f"{html.escape(e.words[w])}</span>")
            position = max(position, e.word_end[w])
        parts.append(html.escape(source[position:]))
    return "".join(parts)


def _section(e, index):
    scale = _scale(e.word_attributions)
    rows = [("method", e.method), ("target", e.target), ("label", e.label), ("target score", e.target_score),
            ("baseline score", e.baseline_score), ("completeness error", e.completeness_error),
            ("steps", e.steps)]
    probabilities = (e.details or {}).get("probabilities")
    if isinstance(probabilities, dict):
        rows.append(("probabilities", ", ".join(f"{k}: {_fmt(v, 3)}" for k, v in probabilities.items())))
    table = "".join(f"<tr><th>{name}</th><td>{html.escape(_fmt(value))}</td></tr>" for name, value in rows)
    top = "".join(f"<li>{html.escape(word)}: {value:.4g}</li>" for word, value in e.top_words(5))
    images = []
    for name, present, draw in (("attention maps", e.attention is not None, attention_grid_png),
                                ("attention rollout", e.rollout is not None, rollout_png)):
        if present:
            data = base64.b64encode(draw(e)).decode("ascii")
            images.append(f'<h3>{name}</h3><img alt="{name}" src="data:image/png;base64,{data}">')
    return (f"<section><h2>{index + 1}. {html.escape(_title(e))}</h2>"
            f'<div class="text">{_html_text(e, scale)}</div>'
            f'<p class="legend">red: for, blue: against (full colour at |attribution| = {_fmt(scale, 3)})</p>'
            f"<table>{table}</table><h3>top words</h3><ol>{top}</ol>{''.join(images)}</section>")


def html_report(explanations, path=None, title="bert_keras explanations"):
    """One self-contained HTML page (inline CSS and images, no external URL) for a list of explanations.

    Args:
        explanations: `Explanation`s (or a single one).
        path: if given, the page is also written there (atomically, UTF-8).
        title: the page's title.

    Returns:
        The page's HTML.
    """
    if not isinstance(explanations, (list, tuple)):
        explanations = [explanations]
    body = "".join(_section(e, i) for i, e in enumerate(explanations))
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")
    if path is not None:
        _write_atomic(path, page)
    return page
