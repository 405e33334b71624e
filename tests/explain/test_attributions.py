import unicodedata

import keras
import numpy as np
import pytest

from bert_keras import (BertClassifier, BertEncoder, BertSpanQA, BertTextEmbedder, BertTextPreprocessor,
                        BertTokenClassifier)
from bert_keras.explain import gradient_x_input, integrated_gradients, integration_points

TEXTS = ["A gorgeous, witty, seductive movie.", "The plot is a mess — café 北京 and the acting is worse."]


def _plain(s):
    """Lower case without accents, as the uncased tokenizer normalizes."""
    return "".join(c for c in unicodedata.normalize("NFD", s.lower()) if not unicodedata.combining(c))


def tiny(cls, tokenizer, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=tokenizer.vocab_size)
    return cls(encoder, preprocessor=BertTextPreprocessor(tokenizer, seq_length=48), **kwargs)


@pytest.fixture(scope="module")
def classifier(minilm_tokenizer):
    model = tiny(BertClassifier, minilm_tokenizer, num_classes=3, labels=["neg", "mixed", "pos"])
    dense = model.get_layer("logits")  # a head with real margins, so that targets differ
    dense.kernel.assign(np.random.default_rng(0).normal(size=dense.kernel.shape).astype("float32"))
    return model


def test_integration_points_are_captums():
    alphas, weights = integration_points(64)
    assert abs(weights.sum() - 1) < 1e-12 and np.all((alphas > 0) & (alphas < 1))
    # Gauss-Legendre integrates polynomials of degree 2n-1 exactly: int_0^1 a^5 = 1/6 with n = 3.
    alphas, weights = integration_points(3)
    assert abs((weights * alphas ** 5).sum() - 1 / 6) < 1e-12
    alphas, weights = integration_points(4, "riemann_trapezoid")
    assert alphas.tolist() == [0, 1 / 3, 2 / 3, 1] and weights.tolist() == [1 / 6, 1 / 3, 1 / 3, 1 / 6]
    assert integration_points(4, "riemann_left")[0].tolist() == [0, 0.25, 0.5, 0.75]
    with pytest.raises(ValueError, match="Unknown integration rule 'simpson'"):
        integration_points(4, "simpson")
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        integration_points(0)


def test_completeness_offsets_and_words(classifier):
    explanations = integrated_gradients(classifier, TEXTS, steps=64)
    probs = classifier.predict(TEXTS, verbose=0)
    for text, e, p in zip(TEXTS, explanations, probs):
        assert e.label == classifier.labels[p.argmax()] and e.details["class"] == e.label
        assert abs(e.target_score - p.max()) < 1e-5
        assert abs(e.attributions.sum() - (e.target_score - e.baseline_score)) <= 0.01 * abs(
            e.target_score - e.baseline_score)
        assert e.completeness_error < 0.01 and e.steps == 64
        assert e.tokens[0] == "[CLS]" and e.tokens[-1] == "[SEP]" and len(e.attributions) == len(e.tokens)
        assert e.attributions[0] == 0 and e.attributions[-1] == 0  # same word vector in the input and baseline
        for token, start, end in zip(e.tokens[1:-1], e.token_start[1:-1], e.token_end[1:-1]):
            assert _plain(text[start:end]) == token.lstrip("#") or token == "[UNK]"  # offsets into the original
        assert " ".join(e.words) == " ".join(text[s:t] for s, t in zip(e.word_start, e.word_end))
        np.testing.assert_allclose(e.word_attributions.sum(), e.attributions.sum(), rtol=1e-5, atol=1e-7)
    assert "北" in explanations[1].words and "café" in explanations[1].words


def test_more_steps_close_the_completeness_gap(classifier):
    coarse, fine = (integrated_gradients(classifier, TEXTS[:1], steps=s, rule="riemann_right")[0] for s in (4, 128))
    assert fine.completeness_error < coarse.completeness_error


def test_targets(classifier):
    text = TEXTS[:1]
    logits = np.asarray(classifier(classifier.preprocessor(text)))[0]
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    for target, expected in ((0, probs[0]), ("mixed", probs[1]), ("logit", logits.max())):
        [e] = integrated_gradients(classifier, text, steps=16, target=target)
        assert abs(e.target_score - expected) < 1e-5, target
    [e] = integrated_gradients(classifier, text, steps=16, target="logit")
    assert e.target.startswith("logit of")
    with pytest.raises(ValueError, match="one of the class names \\['neg', 'mixed', 'pos'\\]; got 'happy'"):
        integrated_gradients(classifier, text, target="happy")
    with pytest.raises(ValueError, match="target class 3 is out of range"):
        integrated_gradients(classifier, text, target=3)


def test_pairs_baselines_and_gradient_x_input(classifier):
    [e] = integrated_gradients(classifier, (["A fine film."], ["Not for me."]), steps=32, baseline="mask")
    assert e.pair_text == "Not for me." and e.token_segment.count(1) == 5  # not for me . [SEP]
    assert [w for w, s in zip(e.words, e.word_segment) if s == 1] == ["Not", "for", "me", "."]
    assert e.completeness_error < 0.01
    [z] = integrated_gradients(classifier, ["A fine film."], steps=32, baseline="zero")
    assert z.completeness_error < 0.01
    [g] = gradient_x_input(classifier, ["A fine film."])
    assert g.completeness_error is None and g.baseline_score is None and np.any(g.attributions != 0)
    with pytest.raises(ValueError, match="Unknown baseline 'unk'"):
        integrated_gradients(classifier, ["A fine film."], baseline="unk")


def test_regression_explains_the_score(minilm_tokenizer):
    model = tiny(BertClassifier, minilm_tokenizer, num_classes=1)
    [e] = integrated_gradients(model, TEXTS[:1], steps=32)
    assert e.target == "score" and abs(e.target_score - float(model.predict(TEXTS[:1], verbose=0)[0])) < 1e-5
    assert e.completeness_error < 0.01


def test_mixed_precision_model_is_explained_in_float32_with_its_current_weights(minilm_tokenizer):
    model = tiny(BertClassifier, minilm_tokenizer, num_classes=2)
    mixed = model.plain_copy(dtype="mixed_bfloat16")
    mixed.preprocessor = model.preprocessor
    for round_ in range(2):  # the second round after the mixed model's head changed (as training would)
        [e] = integrated_gradients(mixed, TEXTS[:1], steps=32)
        [plain] = integrated_gradients(model, TEXTS[:1], steps=32)
        np.testing.assert_allclose(e.attributions, plain.attributions, atol=1e-6)
        assert e.completeness_error < 0.01
        for m in (model, mixed):
            m.get_layer("logits").kernel.assign(-np.asarray(m.get_layer("logits").kernel))


def test_internal_batch_size_gives_the_same_numbers(classifier):
    [whole] = integrated_gradients(classifier, TEXTS[:1], steps=8)
    for rows in (1, 3):
        [e] = integrated_gradients(classifier, TEXTS[:1], steps=8, internal_batch_size=rows)
        np.testing.assert_allclose(e.attributions, whole.attributions, atol=1e-6)  # batch-size rounding only
        assert (e.target_score, e.baseline_score) == pytest.approx((whole.target_score, whole.baseline_score), abs=1e-6)
    with pytest.raises(ValueError, match="internal_batch_size must be a positive int or None, got 0"):
        integrated_gradients(classifier, TEXTS[:1], steps=8, internal_batch_size=0)


def test_tagger_explains_each_predicted_entity(minilm_tokenizer):
    labels = ["O", "B-person", "I-person", "B-location", "I-location"]
    model = tiny(BertTokenClassifier, minilm_tokenizer, seed=3, labels=labels, num_labels=len(labels))
    text = "Paul Simon flew from New York to Berlin with Anna ."
    entities = model.predict([text])[0]
    assert entities, "the seeded untrained head predicts entities"
    explained = integrated_gradients(model, [text], steps=32)[0]
    assert [e.details["entity"] for e in explained] == entities
    for e in explained:
        assert e.label == e.details["entity"]["type"] and e.completeness_error < 0.01
    assert integrated_gradients(model, [""], steps=8) == [[]]  # no entity, nothing to explain


def test_qa_explains_the_answer_start_and_end(minilm_tokenizer):
    model = tiny(BertSpanQA, minilm_tokenizer, seed=4, max_query_length=16)
    question, context = "Where did Paul fly?", "Paul Simon flew from New York to Berlin on Monday."
    start, end = integrated_gradients(model, ([question], [context]), steps=32)[0]
    answer = start.details["answer"]
    assert context[answer["start"]:answer["end"]] == answer["text"] == start.label == end.label
    assert start.target == "answer start logit" and end.target == "answer end logit"
    for e in (start, end):
        assert e.completeness_error < 0.01 and e.pair_text == context
    assert answer == model.predict(([question], [context]))[0]  # the model's own answer, decoded as predict does
    with pytest.raises(ValueError, match="x=\\(questions, contexts\\)"):
        integrated_gradients(model, [context])
    assert integrated_gradients(model, ([question], [""]), steps=8) == [[]]  # no context, no answer to explain


def test_refusals(minilm_tokenizer):
    windowed = tiny(BertClassifier, minilm_tokenizer, num_classes=2)
    windowed.preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=48, long_document="windows")
    with pytest.raises(ValueError, match="long_document='windows', and explanations read the first seq_length"):
        integrated_gradients(windowed, TEXTS)
    with pytest.raises(ValueError, match="Sentence pairs are a tuple \\(texts_a, texts_b\\); got a tuple of 3"):
        integrated_gradients(tiny(BertClassifier, minilm_tokenizer, num_classes=2), ("a", "b", "c"))
    model = tiny(BertClassifier, minilm_tokenizer, num_classes=2)
    model.preprocessor = None
    with pytest.raises(ValueError, match="has no preprocessor, and explanations start from text"):
        integrated_gradients(model, TEXTS)
    embedder = BertTextEmbedder(BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size))
    with pytest.raises(ValueError, match="need a BertClassifier, BertTokenClassifier or BertSpanQA, got "
                                         "BertTextEmbedder"):
        integrated_gradients(embedder, TEXTS)
