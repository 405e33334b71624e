import keras
import numpy as np
import pytest

from bert_keras import BertTokenClassifier
from bert_keras.models.bert_token_classifier import word_tags_to_entities
from tests.helpers import random_features, tiny_encoder


def test_logits_per_position_and_ignored_labels():
    model = BertTokenClassifier(tiny_encoder(), num_labels=5)
    logits = model(random_features())
    assert logits.shape == (2, 10, 5)
    loss = model.default_loss()
    labels = np.full((2, 10), -1)
    labels[:, 1] = 2
    masked = float(loss(labels, logits))
    only = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels[:, 1], np.asarray(logits)[:, 1]))
    assert masked == pytest.approx(only, rel=1e-5)


def test_entities_with_character_offsets():
    words = ["Visit", "New", "York", "with", "@paul", "!"]
    tags = ["O", "B-geo-loc", "I-geo-loc", "O", "B-person", "O"]
    entities = word_tags_to_entities(words, tags)
    text = " ".join(words)
    assert entities == [{"type": "geo-loc", "start": 6, "end": 14, "text": "New York"},
                        {"type": "person", "start": 20, "end": 25, "text": "@paul"}]
    assert all(text[e["start"]:e["end"]] == e["text"] for e in entities)


def test_entities_in_original_text_with_custom_spacing():
    text = "Visit  New\tYork"
    entities = word_tags_to_entities(["Visit", "New", "York"], ["O", "B-LOC", "I-LOC"], text=text,
                                     word_starts=[0, 7, 11])
    assert entities == [{"type": "LOC", "start": 7, "end": 15, "text": "New\tYork"}]


def test_keras_file_round_trip(tmp_path):
    model = BertTokenClassifier(tiny_encoder(), num_labels=3)
    model.save(str(tmp_path / "t.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "t.keras"), safe_mode=True)
    np.testing.assert_allclose(model(random_features()), loaded(random_features()), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_labels must be an int >= 2"):
        BertTokenClassifier(tiny_encoder(), num_labels=1)
    with pytest.raises(ValueError, match="3 words but 2 tags"):
        word_tags_to_entities(["a", "b", "c"], ["O", "O"])
