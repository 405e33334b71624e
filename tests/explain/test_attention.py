import keras
import numpy as np
import pytest

from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor
from bert_keras.explain import attention_maps, attention_rollout, rollout


@pytest.fixture(scope="module")
def classifier(minilm_tokenizer):
    keras.utils.set_random_seed(1)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size, output_attention_probs=True)
    return BertClassifier(encoder, num_classes=2, labels=["rotten", "fresh"],
                          preprocessor=BertTextPreprocessor(minilm_tokenizer, seq_length=32))


def test_attention_maps_are_the_encoders_probabilities(classifier):
    texts = ["A gorgeous, witty film.", "Dull."]
    views = attention_maps(classifier, texts)
    for text, view in zip(texts, views):
        features = classifier.preprocessor.tokenizer([text], seq_length=32)
        n = int(np.asarray(features["input_mask"]).sum())
        expected = np.stack([np.asarray(p)[0, :, :n, :n] for p in classifier.encoder(features)["attention_probs"]])
        assert view.attention.shape == (2, 2, n, n) == expected.shape and len(view.tokens) == n
        np.testing.assert_allclose(view.attention, expected, atol=1e-5)
        np.testing.assert_allclose(view.attention.sum(-1), 1, atol=1e-5)
        np.testing.assert_allclose(view.attributions, expected[-1].mean(0)[0], atol=1e-5)
        assert view.label in ("rotten", "fresh") and view.method == "attention"


def test_rollout_is_abnar_and_zuidema():
    rng = np.random.default_rng(0)
    a = rng.random((3, 4, 5, 5))
    a /= a.sum(-1, keepdims=True)
    expected = np.eye(5)
    for layer in a:  # written out: 0.5 A + 0.5 I (heads averaged), rows renormalized, earliest layer rightmost
        m = 0.5 * layer.mean(0) + 0.5 * np.eye(5)
        expected = (m / m.sum(-1, keepdims=True)) @ expected
    np.testing.assert_allclose(rollout(a), expected, atol=1e-6)
    np.testing.assert_allclose(rollout(a).sum(-1), 1, atol=1e-6)


def test_rollout_view(classifier):
    [view] = attention_rollout(classifier, ["A gorgeous, witty film."])
    np.testing.assert_allclose(view.rollout, rollout(attention_maps(classifier, ["A gorgeous, witty film."])[0]
                                                     .attention), atol=1e-6)
    np.testing.assert_allclose(view.attributions, view.rollout[0], atol=1e-7)
    assert view.words == ["A", "gorgeous", ",", "witty", "film", "."]
