import dataclasses

import keras
import numpy as np
import pytest

from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor
from bert_keras.explain import faithfulness, integrated_gradients
from bert_keras.explain.faithfulness import perturbation_rows


def test_perturbation_rows_round_up_and_never_touch_specials():
    ids = np.array([101, 5, 6, 7, 8, 9, 102])
    special = np.array([1, 0, 0, 0, 0, 0, 1], bool)
    removed, kept = perturbation_rows(ids, special, [3, 1, 5, 2, 4], fractions=(0.01, 0.5, 1.0), mask_id=103)
    assert removed.tolist() == [[101, 5, 6, 103, 8, 9, 102], [101, 103, 6, 103, 8, 103, 102],
                                [101, 103, 103, 103, 103, 103, 102]]
    assert kept.tolist() == [[101, 103, 103, 7, 103, 103, 102], [101, 5, 103, 7, 103, 9, 102],
                             [101, 5, 6, 7, 8, 9, 102]]


def test_faithfulness_recomputed_by_hand(minilm_tokenizer):
    keras.utils.set_random_seed(2)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    model = BertClassifier(encoder, num_classes=2, preprocessor=BertTextPreprocessor(minilm_tokenizer, seq_length=32))
    texts = ["A gorgeous, witty, seductive movie.", "Dull and overlong."]
    explanations = integrated_gradients(model, texts, steps=16)
    result = faithfulness(model, explanations, fractions=(0.2, 0.5))
    comp, suff = [], []
    for e in explanations:
        features = {k: np.asarray(v) for k, v in minilm_tokenizer([e.text], seq_length=32).items()}
        n = int(features["input_mask"].sum())
        features = {k: v[:, :n] for k, v in features.items()}

        def prob(ids):
            logits = np.asarray(model({**features, "input_word_ids": ids[None]}))[0]
            return np.exp(logits) / np.exp(logits).sum()

        p = prob(features["input_word_ids"][0])
        c = p.argmax()
        real = np.arange(1, n - 1)
        order = real[np.argsort(-e.attributions[1:-1], kind="stable")]
        for fraction in (0.2, 0.5):
            k = max(1, int(np.ceil(fraction * len(real))))
            removed, kept = features["input_word_ids"][0].copy(), features["input_word_ids"][0].copy()
            removed[order[:k]] = minilm_tokenizer.mask_id
            kept[order[k:]] = minilm_tokenizer.mask_id
            comp.append(p[c] - prob(removed)[c])
            suff.append(p[c] - prob(kept)[c])
    assert result["comprehensiveness"] == pytest.approx(np.mean(comp), abs=1e-6)
    assert result["sufficiency"] == pytest.approx(np.mean(suff), abs=1e-6)
    assert result["n"] == 2 and set(result["per_fraction"]) == {0.2, 0.5}
    shuffled = [dataclasses.replace(e, tokens=e.tokens[::-1]) for e in explanations]
    with pytest.raises(ValueError, match="tokens differ from this model's tokenization"):
        faithfulness(model, shuffled)
