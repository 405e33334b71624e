"""bert_keras.explain.report: PNG heatmaps and the self-contained HTML report, on hand-built explanations."""

import html
import importlib
import re

import matplotlib
import matplotlib.image
import numpy as np
import pytest

from bert_keras.explain import report
from bert_keras.explain.explanation import Explanation, words_of

PNG = b"\x89PNG\r\n\x1a\n"
SPECIALS = ("[CLS]", "[SEP]")


def make(text="a greatly film", tokens=("[CLS]", "a", "great", "##ly", "film", "[SEP]"), spans=None,
         attributions=None, pair_text=None, segments=None, **kwargs):
    """An Explanation built by hand: pieces found in the text left to right (or given `spans`)."""
    tokens = list(tokens)
    segments = list(segments or [0] * len(tokens))
    if spans is None:
        spans, positions = [], {0: 0, 1: 0}
        for token, segment in zip(tokens, segments):
            if token in SPECIALS:
                spans.append((0, 0))
                continue
            source, piece = (text if segment == 0 else pair_text), token.removeprefix("##")
            start = source.index(piece, positions[segment])
            positions[segment] = start + len(piece)
            spans.append((start, start + len(piece)))
    starts, ends = [s for s, _ in spans], [e for _, e in spans]
    if attributions is None:
        attributions = np.linspace(-0.5, 0.8, len(tokens))
    attributions = np.asarray(attributions, dtype="float32")
    words, ws, we, wseg, wa = words_of(tokens, segments, starts, ends, attributions, SPECIALS, (text, pair_text))
    fields = dict(label="fresh", target_score=0.97, baseline_score=0.41, completeness_error=0.004, steps=50,
                  details={"probabilities": {"fresh": 0.97, "rotten": 0.03}})
    fields.update(kwargs)
    return Explanation(text=text, method="integrated_gradients", target='probability of "fresh"', tokens=tokens,
                       token_segment=segments, token_start=starts, token_end=ends, attributions=attributions,
                       words=words, word_start=ws, word_end=we, word_segment=wseg, word_attributions=wa,
                       pair_text=pair_text, **fields)


def check_png(data, path, ndim=3):
    assert data.startswith(PNG)
    assert path.read_bytes() == data
    image = matplotlib.image.imread(str(path))
    assert image.ndim == ndim and image.shape[0] > 10 and image.shape[1] > 10
    return image


@pytest.mark.parametrize("level", ["word", "token"])
def test_text_heatmap_writes_a_png(tmp_path, level):
    path = tmp_path / "heat.png"
    check_png(report.text_heatmap_png(make(), path=str(path), level=level), path)
    assert [p.name for p in tmp_path.iterdir()] == ["heat.png"]  # no temporary file left behind


def test_text_heatmap_depends_on_the_attributions():
    one = report.text_heatmap_png(make(attributions=[0, 0.9, 0.1, 0.1, -0.4, 0]))
    other = report.text_heatmap_png(make(attributions=[0, -0.9, 0.1, 0.1, 0.4, 0]))
    assert one != other


def test_text_heatmap_rejects_an_unknown_level():
    with pytest.raises(ValueError, match="level"):
        report.text_heatmap_png(make(), level="sentence")


@pytest.mark.parametrize("text", ["电影很好 😀 café", "", "costs $5 and $6 <b>&amp;", "word " * 2000])
def test_text_heatmap_odd_texts(tmp_path, text):
    tokens = ["[CLS]"] + text.split() + ["[SEP]"]
    e = make(text=text, tokens=tokens, attributions=np.sin(np.arange(len(tokens))))
    path = tmp_path / "odd.png"
    image = check_png(report.text_heatmap_png(e, path=str(path)), path)
    assert image.shape[0] < 2000  # long texts are capped, not drawn in full
    report.html_report([e])


def test_text_heatmap_pair_input(tmp_path):
    e = make(text="a film", pair_text="great", tokens=["[CLS]", "a", "film", "[SEP]", "great", "[SEP]"],
             segments=[0, 0, 0, 0, 1, 1])
    assert e.words == ["a", "film", "great"] and e.word_segment == [0, 0, 1]
    path = tmp_path / "pair.png"
    check_png(report.text_heatmap_png(e, path=str(path)), path)
    page = report.html_report([e])
    assert '<span class="sep">|</span>' in page


def test_attention_grid_and_rollout(tmp_path):
    rng = np.random.default_rng(0)
    attention = rng.random((2, 3, 6, 6)).astype("float32")
    attention /= attention.sum(-1, keepdims=True)
    e = make(attention=attention, rollout=attention[-1, 0])
    path = tmp_path / "grid.png"
    check_png(report.attention_grid_png(e, path=str(path)), path)
    path = tmp_path / "rollout.png"
    check_png(report.rollout_png(e, path=str(path)), path)
    # Many tokens: no labels, truncated to max_tokens.
    long = make(text="x " * 40, tokens=["[CLS]"] + ["x"] * 40 + ["[SEP]"],
                attention=rng.random((1, 2, 42, 42)), rollout=rng.random((42, 42)))
    assert report.attention_grid_png(long, max_tokens=30).startswith(PNG)
    assert report.rollout_png(long, max_tokens=30).startswith(PNG)


def test_missing_maps_raise_with_the_fix():
    with pytest.raises(ValueError, match="attention_maps"):
        report.attention_grid_png(make())
    with pytest.raises(ValueError, match="attention_rollout"):
        report.rollout_png(make())


def test_html_report_is_self_contained_and_escaped(tmp_path):
    hostile = make(text="a greatly film <script>alert(1)</script>", label="<img src=x onerror=alert(1)>")
    rng = np.random.default_rng(1)
    with_maps = make(attention=rng.random((2, 2, 6, 6)), rollout=rng.random((6, 6)))
    path = tmp_path / "report.html"
    page = report.html_report([hostile, with_maps, make(text="", tokens=["[CLS]", "[SEP]"])], path=str(path),
                              title="<b>t</b>")
    assert path.read_text(encoding="utf-8") == page
    lowered = page.lower()
    for bad in ("http://", "https://", 'src="//', "<link", "<script", "<img src=x"):
        assert bad not in lowered
    tags = " ".join(re.findall(r"<[^>]*>", page))  # markup only: escaped text (`&lt;img src=x`) is inert
    assert "src=" in tags and not re.search(r"(?:src|href)\s*=\s*(?![\"']?(?:data:|#))", tags, re.IGNORECASE)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert html.escape("<script>alert(1)</script>") in page
    assert "&lt;b&gt;t&lt;/b&gt;" in page
    assert page.count('src="data:image/png;base64,') == 2
    assert "fresh: 0.97" in page and "greatly" in page


def test_html_span_titles_are_the_attributions():
    e = make(attributions=[0, 0.25, -0.125, 0.5, -0.75, 0])
    page = report.html_report(e)
    titles = [float(t) for t in re.findall(r'<span style="background:[^"]*" title="([^"]*)"', page)]
    np.testing.assert_array_equal(titles, e.word_attributions)
    assert titles == [0.25, 0.375, -0.75]
    assert "rgba(255,255,255,1)" not in page.split('title="0.25"')[0][-60:]  # not white: coloured
    for word, _ in e.top_words(5):
        assert f"<li>{word}:" in page


def test_import_does_not_change_the_backend():
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        importlib.reload(report)
        report.text_heatmap_png(make())
        report.html_report(make(rollout=np.eye(6)))
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
