"""TFLite conversion: float32 within 1e-4 of Keras, float16 / int8-dynamic keep the labels of real sentences,
int8 is reported; the id model needs no custom ops, the string model runs with tensorflow-text's kernels."""

import os

import keras
import numpy as np
import pytest

from bert_keras import BertTokenizer
from bert_keras.data import real_datasets
from bert_keras.export.saved_model import export_saved_model
from bert_keras.export.tflite import convert
from bert_keras.export.tflite_model import TFLiteModel
from bert_keras.export.verify import convert_all, format_table, verify


@pytest.fixture(scope="module")
def converted(probe_classifier_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("tflite")
    saved_model = export_saved_model(probe_classifier_dir, str(base / "export"))
    return saved_model, convert_all(saved_model, str(base / "tflite"))


def test_parity_report_on_real_sentences(converted, probe_classifier_dir):
    saved_model, paths = converted
    report = verify(probe_classifier_dir, saved_model, paths)
    print(format_table(report))
    assert report["examples"] == 300
    rows = {row["runtime"].split(" (")[0]: row for row in report["rows"]}
    for name in ("SavedModel, tf.saved_model.load", "SavedModel, TF1 session loader"):
        assert rows[name]["max_abs_diff"] <= 1e-5 and rows[name]["argmax_agreement"] == 1.0
    for name in ("TFLite model.tflite", "TFLite model_ids.tflite"):
        assert rows[name]["max_abs_diff"] <= 1e-4 and rows[name]["argmax_agreement"] == 1.0
    assert rows["TFLite model_float16.tflite"]["argmax_agreement"] >= 0.99
    # Dynamic-range int8 sits at the 99% line on this low-margin probe (0.98-0.99 depending on the kernels: XNNPACK
    # or reference); what must hold is that it only flips near-ties.
    dynamic = rows["TFLite model_int8_dynamic.tflite"]
    assert dynamic["argmax_agreement"] >= 0.98 and dynamic["widest_flipped_margin"] < 0.15
    full_int8 = rows["TFLite model_int8.tflite"]
    # Reported, not held to a bar: but it must really be quantized (activations too), so it departs from float
    # further than dynamic range does, and it must still be probabilities over the same labels.
    assert np.isfinite(full_int8["max_abs_diff"]) and full_int8["max_abs_diff"] > dynamic["max_abs_diff"]
    assert "| TFLite model_int8.tflite (text in) |" in format_table(report)
    sizes = {name: row["size_mb"] for name, row in rows.items()}
    assert sizes["TFLite model_float16.tflite"] < 0.6 * sizes["TFLite model.tflite"]
    assert sizes["TFLite model_int8_dynamic.tflite"] < 0.35 * sizes["TFLite model.tflite"]
    assert sizes["SavedModel, tf.saved_model.load"] < 1.1 * sizes["Keras"]  # each weight stored once


def test_keras_probe_predicts_both_labels(probe_classifier_dir):
    model = keras.saving.load_model(os.path.join(probe_classifier_dir, "model.keras"), safe_mode=True)
    tokenizer = BertTokenizer.from_pretrained(probe_classifier_dir)
    texts = [t for t, _ in real_datasets.rotten_tomatoes()["test"][:300]]
    predicted = np.asarray(model(tokenizer(texts, seq_length=32))).argmax(-1)
    assert 0.2 < predicted.mean() < 0.8


def test_id_model_is_builtin_only_and_string_model_needs_the_text_kernels(converted):
    from ai_edge_litert import interpreter as litert

    _, paths = converted
    by_name = {os.path.basename(p): p for p in paths}
    plain = litert.Interpreter(model_path=by_name["model_ids.tflite"])  # no custom-op registrar
    plain.allocate_tensors()
    assert plain.get_signature_list()["serving_default"]["outputs"] == ["label", "label_id", "probabilities"]
    with pytest.raises(RuntimeError, match="FastBertNormalize"):
        litert.Interpreter(model_path=by_name["model.tflite"]).allocate_tensors()


def test_string_model_hostile_input_and_runner_errors(converted):
    _, paths = converted
    model = TFLiteModel([p for p in paths if p.endswith(os.sep + "model.tflite")][0])
    assert model.takes_text
    normal = "A warm, funny, beautifully acted film."
    batch = ["", "   \t\n ", "x" * (1 << 20), b"\xff\xfe\xc3 broken utf-8", "\x00\x01\x1b[31m control",
             "😀🎉👍🏽", "שלום עולם مرحبا", normal]
    out = model(text=batch)
    alone = model(text=[normal])
    assert out["probabilities"].shape == (len(batch), 2) and np.all(np.isfinite(out["probabilities"]))
    np.testing.assert_allclose(out["probabilities"][-1], alone["probabilities"][0], atol=1e-6)
    with pytest.raises(ValueError, match="takes inputs \\['text'\\], got \\['input_word_ids'\\]"):
        model(input_word_ids=[[1, 2]])
    with pytest.raises(ValueError, match="empty batch"):
        model(text=[])
    with pytest.raises(ValueError, match="a list of texts"):
        model(text="one string")


def test_refusals(converted, tagger_dir, tagger_export, tmp_path):
    saved_model, _ = converted
    with pytest.raises(ValueError, match="Unknown quantize='int4'"):
        convert(saved_model, str(tmp_path / "m.tflite"), quantize="int4")
    with pytest.raises(ValueError, match="'tag' export converts to TFLite with --inputs=ids only"):
        convert(tagger_export, str(tmp_path / "t.tflite"))
    with pytest.raises(ValueError, match="pass --calibration_file"):
        convert(tagger_export, str(tmp_path / "t.tflite"), quantize="int8", inputs="ids")
    path = convert(tagger_export, str(tmp_path / "t.tflite"), inputs="ids")
    lite = TFLiteModel(path)
    features = BertTokenizer.from_pretrained(tagger_dir)(["Barack Obama visited Paris"], seq_length=48)
    logits = keras.saving.load_model(os.path.join(tagger_dir, "model.keras"))(features)
    np.testing.assert_allclose(lite(**{k: v.numpy() for k, v in features.items()})["logits"], logits, atol=1e-4)
    assert os.listdir(tmp_path) == ["t.tflite"]  # no temporary file left beside it


def test_head_tail_text_model_reads_what_predict_reads(minilm_tokenizer, tmp_path):
    from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor

    keras.utils.set_random_seed(10)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    model = BertClassifier(encoder, num_classes=2, preprocessor=BertTextPreprocessor(
        minilm_tokenizer, seq_length=34, long_document="head_tail", head_tokens=8))
    articles = [t for t, _ in real_datasets.bbc_news()["test"][:6]] + ["Short.", ""]
    lite = TFLiteModel(convert(model.export(str(tmp_path / "export")), str(tmp_path / "model.tflite")))
    assert lite.takes_text
    probabilities = lite(text=articles)["probabilities"]
    np.testing.assert_allclose(probabilities, model.predict(articles, verbose=0), atol=1e-5)
    first_pieces = keras.ops.softmax(model(minilm_tokenizer(articles, seq_length=34))).numpy()
    assert np.abs(first_pieces - probabilities).max() > 1e-4  # the tails were read on the phone too
