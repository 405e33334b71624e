"""bert_keras.explain's integrated gradients and gradient x input against Captum's (`LayerIntegratedGradients`,
`LayerGradientXActivation` on `embeddings.word_embeddings`) on the real MiniLM checkpoint with a fixed linear head:
tests/fixtures/captum_ig_reference.npz (see tests/fixtures/README.md)."""

import json
import os

import numpy as np
import pytest

from bert_keras import BertClassifier
from bert_keras.data.real_corpora import minilm_dir
from bert_keras.explain import gradient_x_input, integrated_gradients

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "captum_ig_reference.npz")
TOLERANCE = 1e-3  # per-token, relative to the largest |attribution| of Captum's


def load_fixture():
    data = np.load(FIXTURE)
    arrays = {k: data[k] for k in data.files}
    arrays["meta"] = json.loads(str(arrays.pop("meta_json")))
    return arrays


CAPTUM = load_fixture()
INPUTS = CAPTUM["meta"]["texts"]


def model_input(text):
    """A single text as [text]; a pair [a, b] as ([a], [b])."""
    return ([text[0]], [text[1]]) if isinstance(text, list) else [text]


@pytest.fixture(scope="module")
def model():
    model = BertClassifier.from_pretrained(minilm_dir(), num_classes=2, precision="float32")
    model.get_layer("logits").kernel.assign(CAPTUM["head_kernel"])
    model.get_layer("logits").bias.assign(CAPTUM["head_bias"])
    return model


def check_attributions(ours, theirs):
    scale = np.abs(theirs).max()
    error = np.abs(np.asarray(ours, np.float64) - theirs)
    worst = int(error.argmax())
    assert error.max() <= TOLERANCE * scale, (
        f"max |ours - Captum's| = {error.max():.3g} ({error.max() / scale:.3g} of the largest) at token {worst}")


def test_fixture_was_made_as_documented():
    meta = CAPTUM["meta"]
    assert (meta["steps"], meta["method"]) == (32, "gausslegendre")
    assert len(INPUTS) == 4 and isinstance(INPUTS[-1], list)
    assert CAPTUM["head_kernel"].shape == (384, 2) and CAPTUM["head_bias"].shape == (2,)


@pytest.mark.parametrize("i", range(len(INPUTS)))
def test_integrated_gradients_match_captum(model, i):
    [e] = integrated_gradients(model, model_input(INPUTS[i]), steps=32)
    ids = CAPTUM[f"ids_{i}"]
    assert e.tokens == [model.preprocessor.tokenizer.vocabulary[t] for t in ids]
    assert e.token_segment == CAPTUM[f"type_ids_{i}"].tolist()
    assert e.details["class"] == int(CAPTUM[f"class_{i}"])
    assert abs(e.target_score - float(CAPTUM[f"fx_{i}"])) < 1e-5
    assert abs(e.baseline_score - float(CAPTUM[f"fb_{i}"])) < 1e-5
    check_attributions(e.attributions, CAPTUM[f"ig_{i}"])


@pytest.mark.parametrize("i", range(len(INPUTS)))
def test_gradient_x_input_matches_captum(model, i):
    [e] = gradient_x_input(model, model_input(INPUTS[i]))
    assert e.tokens == [model.preprocessor.tokenizer.vocabulary[t] for t in CAPTUM[f"ids_{i}"]]
    assert abs(e.target_score - float(CAPTUM[f"fx_{i}"])) < 1e-5
    check_attributions(e.attributions, CAPTUM[f"gxi_{i}"])
