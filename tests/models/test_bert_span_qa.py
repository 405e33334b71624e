import keras
import numpy as np

from bert_keras import BertSpanQA
from tests.helpers import random_features, tiny_encoder


def test_start_end_logits_and_masked_padding():
    model = BertSpanQA(tiny_encoder())
    out = model(random_features(pad_from=7))
    assert set(out) == {"start_logits", "end_logits"} and out["start_logits"].shape == (2, 10)
    assert np.all(np.asarray(out["start_logits"])[:, 7:] < -1e8)
    assert np.all(np.abs(np.asarray(out["end_logits"])[:, :7]) < 100)


def test_keras_file_round_trip(tmp_path):
    model = BertSpanQA(tiny_encoder())
    model.save(str(tmp_path / "q.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "q.keras"), safe_mode=True)
    features = random_features()
    np.testing.assert_allclose(model(features)["end_logits"], loaded(features)["end_logits"], atol=1e-6)
