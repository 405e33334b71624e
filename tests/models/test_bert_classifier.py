import keras
import numpy as np
import pytest

from bert_keras import BertClassifier
from tests.helpers import random_features, tiny_encoder


def test_logits_are_dense_on_pooled_output():
    encoder = tiny_encoder()
    model = BertClassifier(encoder, num_classes=3, dropout=0.0)
    features = random_features()
    logits = np.asarray(model(features))
    dense = model.get_layer("logits")
    expected = np.asarray(encoder(features)["pooled_output"]) @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    assert isinstance(model.default_loss(), keras.losses.SparseCategoricalCrossentropy)


def test_regression_head_outputs_one_score_with_mse():
    model = BertClassifier(tiny_encoder(), num_classes=1)
    assert model(random_features()).shape == (2, 1)
    assert isinstance(model.default_loss(), keras.losses.MeanSquaredError)


def test_keras_file_round_trip(tmp_path):
    model = BertClassifier(tiny_encoder(), num_classes=2)
    path = str(tmp_path / "c.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    features = random_features()
    np.testing.assert_allclose(model(features), loaded(features), atol=1e-6)
    assert loaded.num_classes == 2 and loaded.encoder.hidden_dim == 16


def test_bad_num_classes():
    with pytest.raises(ValueError, match="num_classes must be 1 .* got 0"):
        BertClassifier(tiny_encoder(), num_classes=0)
