import os

import keras
import numpy as np
import pytest

from bert_keras import BertEncoder
from bert_keras.models.bert_encoder import INPUT_NAMES
from tests.helpers import random_features, tiny_encoder


def test_tf_hub_input_and_output_names():
    encoder = tiny_encoder()
    assert set(encoder.input) == set(INPUT_NAMES)
    outputs = encoder(random_features())
    assert set(outputs) == {"sequence_output", "pooled_output"}
    assert outputs["sequence_output"].shape == (2, 10, 16) and outputs["pooled_output"].shape == (2, 16)


def test_every_layer_and_attention_probs_on_request():
    encoder = tiny_encoder(output_encoder_outputs=True, output_attention_probs=True)
    outputs = encoder(random_features(pad_from=7))
    assert len(outputs["encoder_outputs"]) == 2 and len(outputs["attention_probs"]) == 2
    np.testing.assert_array_equal(outputs["encoder_outputs"][-1], outputs["sequence_output"])
    probs = np.asarray(outputs["attention_probs"][0])
    assert probs.shape == (2, 2, 10, 10)
    assert np.all(probs[..., 7:] == 0)


def test_run_layers_gives_the_call_outputs_and_the_attention_probs():
    encoder = tiny_encoder(output_attention_probs=True)
    features = random_features(pad_from=7)
    outputs = encoder(features)
    sequence, probs = encoder.run_layers(features, attention_probs=True)
    np.testing.assert_allclose(sequence, outputs["sequence_output"], atol=1e-6)
    for got, want in zip(probs, outputs["attention_probs"]):
        np.testing.assert_allclose(got, want, atol=1e-6)
    lookup = np.asarray(encoder.embeddings.word_embeddings)[features["input_word_ids"]]
    from_vectors, none = encoder.run_layers(features, word_vectors=lookup)
    assert none is None
    np.testing.assert_allclose(from_vectors, outputs["sequence_output"], atol=1e-5)
    np.testing.assert_allclose(encoder.pooled_output_from(features, word_vectors=lookup), outputs["pooled_output"],
                               atol=1e-5)


def test_layer_outputs_are_the_embeddings_and_every_block_with_its_attention():
    encoder = tiny_encoder(output_encoder_outputs=True, output_attention_probs=True)
    features = random_features(pad_from=7)
    outputs = encoder(features)
    hidden, probs = encoder.layer_outputs(features)
    assert len(hidden) == 3 and len(probs) == 2
    np.testing.assert_allclose(hidden[0], encoder.embeddings(features["input_word_ids"], features["input_type_ids"]),
                               atol=1e-6)
    for got, want in zip(hidden[1:], outputs["encoder_outputs"]):
        np.testing.assert_allclose(got, want, atol=1e-6)
    for got, want in zip(probs, outputs["attention_probs"]):
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("name, params", [
    # Parameter counts of Google's released checkpoints (encoder + pooler, 30522-token vocab).
    ("tiny", 4_385_920), ("mini", 11_170_560), ("base", 109_482_240),
])
def test_named_sizes_have_the_released_parameter_counts(name, params):
    assert BertEncoder.from_config_name(name).count_params() == params


def test_padding_does_not_change_real_token_outputs():
    encoder = tiny_encoder()
    features = random_features(batch=1, seq=6)
    padded = {k: np.concatenate([v, np.zeros((1, 4), "int32")], axis=1) for k, v in features.items()}
    padded["input_word_ids"][:, 6:] = 9  # junk ids under the mask
    a = encoder(features)
    b = encoder(padded)
    np.testing.assert_allclose(a["sequence_output"], np.asarray(b["sequence_output"])[:, :6], atol=1e-5)
    np.testing.assert_allclose(a["pooled_output"], b["pooled_output"], atol=1e-5)


def test_config_round_trip_and_keras_file_in_safe_mode(tmp_path):
    encoder = tiny_encoder(activation="gelu_approximate", output_encoder_outputs=True)
    config = encoder.get_config()
    clone = BertEncoder.from_config(config)
    assert clone.get_config() == config
    features = random_features()
    path = os.path.join(tmp_path, "encoder.keras")
    encoder.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, BertEncoder)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_array_equal(encoder(features)[key], loaded(features)[key])


def test_no_lambda_layers():
    def walk(layer):
        yield layer
        for sub in getattr(layer, "_layers", []):
            yield from walk(sub)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in walk(tiny_encoder()))


def test_sequence_longer_than_position_table():
    with pytest.raises(ValueError, match="exceeds max_sequence_length=24"):
        tiny_encoder()(random_features(seq=30))


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_dim": 20, "num_heads": 3}, "hidden_dim=20 is not divisible by num_heads=3"),
    ({"num_layers": 0}, "num_layers must be a positive integer, got 0"),
    ({"dropout": 1.5}, r"dropout must be in \[0, 1\), got 1.5"),
    ({"activation": "swish"}, "activation 'swish' is not supported"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_encoder(**kwargs)


def test_unknown_config_name():
    with pytest.raises(ValueError, match="Unknown BERT config name 'xl'"):
        BertEncoder.from_config_name("xl")


def test_mixed_precision_runs_in_bfloat16_and_stays_close():
    encoder = tiny_encoder()
    features = random_features()
    bf16 = BertEncoder.from_config({**encoder.get_config(), "dtype": "mixed_bfloat16"})
    bf16.set_weights(encoder.get_weights())
    out = bf16(features)["sequence_output"]
    assert str(out.dtype) in ("bfloat16", "<dtype: 'bfloat16'>")
    np.testing.assert_allclose(np.asarray(out, "float32"), encoder(features)["sequence_output"], atol=0.1)


def test_mixed_precision_survives_two_save_load_cycles(tmp_path):
    encoder = tiny_encoder(dtype="mixed_bfloat16")
    for cycle in range(2):
        path = str(tmp_path / f"e{cycle}.keras")
        encoder.save(path)
        encoder = keras.saving.load_model(path, safe_mode=True)
        assert encoder.embeddings.dtype_policy.name == "mixed_bfloat16"
        assert encoder.transformer_blocks[1].attention.query_key_value.dtype_policy.name == "mixed_bfloat16"


def test_trains_with_fit():
    encoder = tiny_encoder()
    features = random_features(batch=8, seq=8)
    inputs = {k: keras.Input((None,), dtype="int32", name=k) for k in INPUT_NAMES}
    logits = keras.layers.Dense(2)(encoder(inputs)["pooled_output"])
    model = keras.Model(inputs, logits)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    labels = np.arange(8) % 2
    history = model.fit(features, labels, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
