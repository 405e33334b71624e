"""The tagger export: in-graph words, labels and entity spans equal the Python decoding of the Keras model's output,
under TF Serving's loader and tf.saved_model.load, on real W-NUT sentences and hostile input."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_keras import BertTokenizer
from bert_keras.data import real_datasets
from bert_keras.models.bert_token_classifier import word_tags_to_entities
from bert_keras.export.saved_model import read_metadata
from bert_keras.text.entity_decoding import label_tables
from tests.helpers import load_in_fresh_process, served_entities

HOSTILE = ["", "   \t\n ", "\x00\x01\x1b[31m control", "😀🎉👍🏽 party", "שלום עולם مرحبا", "北京，Straße ² café"]


def keras_reference(model_dir, texts):
    """Words, word labels and entities the slow way: Keras logits, then Python over the tokenizer's offsets."""
    model = keras.saving.load_model(os.path.join(model_dir, "model.keras"), safe_mode=True)
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    with open(os.path.join(model_dir, "label_map.json")) as f:
        info = json.load(f)
    seq_length, labels = info["seq_length"], info["labels"]
    predicted = keras.ops.argmax(model(tokenizer(texts, seq_length=seq_length)), axis=-1).numpy()
    ids, starts, ends = (r.to_list() for r in tokenizer.tokenize_with_offsets(texts))
    results = []
    for row, text in enumerate(texts):
        data = text.encode("utf-8")
        kept = len(ids[row][:seq_length - 2])
        words, tags, char_starts = [], [], []
        spans = []
        for i in range(kept):
            if not tokenizer.vocabulary[ids[row][i]].startswith("##"):
                spans.append([starts[row][i], ends[row][i]])
                tags.append(labels[predicted[row, i + 1]])
            else:
                spans[-1][1] = ends[row][i]
        for b_start, b_end in spans:
            char_starts.append(len(data[:b_start].decode("utf-8")))
            words.append(data[b_start:b_end].decode("utf-8"))
        results.append({"words": words, "tags": tags, "word_starts": char_starts,
                        "entities": word_tags_to_entities(words, tags, text=text, word_starts=char_starts)})
    return results


def test_tagger_export_matches_python_decoding_in_a_fresh_process(tagger_dir, tagger_export, tmp_path):
    path = tagger_export
    assert read_metadata(path)["task"] == "tag"
    texts = [" ".join(words) for words, _ in real_datasets.wnut16()["test"][:40]] + HOSTILE
    texts.append(" ".join(["word"] * 100))  # longer than seq_length: truncated words get no label
    tokenizer = BertTokenizer.from_pretrained(tagger_dir)
    features = {k: v.numpy().tolist() for k, v in tokenizer(texts, seq_length=48).items()}
    out = load_in_fresh_process(path, {"serving_default": {"text": texts}, "serve_features": features}, tmp_path)
    expected = keras_reference(tagger_dir, texts)
    model = keras.saving.load_model(os.path.join(tagger_dir, "model.keras"), safe_mode=True)
    logits = model({k: np.asarray(v, np.int32) for k, v in features.items()}).numpy()
    for loader in ("tf1", "tf2"):
        np.testing.assert_allclose(out[f"{loader}/serve_features/logits"], logits, atol=1e-5)
    assert sum(len(e["entities"]) for e in expected) > 40  # the untrained head predicts entities everywhere
    for loader in ("tf1", "tf2"):
        for row, (text, want) in enumerate(zip(texts, expected)):
            def strings(name, n):
                return [s.decode("utf-8") for s in out[f"{loader}/serving_default/{name}"][row][:n]]

            n_words = out[f"{loader}/serving_default/num_words"][row]
            assert n_words == len(want["words"]), (row, text)
            assert strings("words", n_words) == want["words"]
            assert strings("word_labels", n_words) == want["tags"]
            assert out[f"{loader}/serving_default/word_start"][row][:n_words].tolist() == want["word_starts"]
            assert out[f"{loader}/serving_default/word_start"][row][n_words:].tolist() == [-1] * (48 - n_words)
            n = out[f"{loader}/serving_default/num_entities"][row]
            got = [{"type": t, "start": int(s), "end": int(e), "text": x} for t, s, e, x in zip(
                strings("entity_type", n), out[f"{loader}/serving_default/entity_start"][row][:n],
                out[f"{loader}/serving_default/entity_end"][row][:n], strings("entity_text", n))]
            assert got == want["entities"], (row, text)
            assert all(text[e["start"]:e["end"]] == e["text"] for e in got)
            tokens = strings("tokens", 48)
            assert tokens[0] == "[CLS]" and "[SEP]" in tokens


def test_tagger_hostile_input_never_crashes_or_leaks_across_rows(tagger_export):
    serve = tf.saved_model.load(tagger_export).signatures["serving_default"]
    normal = "Barack Obama visited Paris , France"
    batch = [t.encode() for t in HOSTILE] + [b"x" * (1 << 20), b"\xff\xfe\xc3 broken utf-8", normal.encode()]
    out = serve(text=tf.constant(batch))
    alone = serve(text=tf.constant([normal.encode()]))
    for key in out:
        np.testing.assert_array_equal(out[key].numpy()[-1], alone[key].numpy()[0])
    assert out["num_words"].numpy()[0] == 0 and out["num_words"].numpy()[1] == 0
    assert out["words"].numpy()[len(HOSTILE)][0] == b"x" * (1 << 20)  # one [UNK] word, the whole 1 MB
    empty = serve(text=tf.constant([], tf.string))
    assert empty["entity_start"].shape == (0, 48) and empty["num_entities"].shape == (0,)
    with pytest.raises(tf.errors.InvalidArgumentError, match="is not compatible with expected shape"):
        serve(text=tf.constant([["a"], ["b"]]))


@pytest.fixture(scope="module")
def windowed_tagger_export(minilm_tokenizer, tmp_path_factory):
    """A tiny tagger (untrained head) reading long texts in windows of 46 pieces every 23, at most 16, exported."""
    from bert_keras import BertEncoder, BertTextPreprocessor, BertTokenClassifier

    keras.utils.set_random_seed(4)
    labels = ["O", "B-location", "I-location", "B-person", "I-person"]
    model = BertTokenClassifier(BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size),
                                labels=labels, preprocessor=BertTextPreprocessor(
                                    minilm_tokenizer, seq_length=48, long_document="windows", window_stride=23,
                                    max_windows=16))
    return model, model.export(str(tmp_path_factory.mktemp("windowed_tagger") / "export"))


def test_windowed_tagger_export_equals_predict_on_long_texts(windowed_tagger_export, tmp_path):
    model, path = windowed_tagger_export
    tweets = [" ".join(words) for words, _ in real_datasets.wnut16()["test"][:60]]
    joined = ["\n".join(tweets[i:i + 8]) for i in range(0, 24, 8)]  # 200-300 pieces each: 8-12 windows
    megabyte = (joined[0] + " ") * (2 ** 20 // len(joined[0]))
    texts = joined + [megabyte, ""]
    out = load_in_fresh_process(path, {"serving_default": {"text": texts}}, tmp_path)
    python = model.predict(texts, verbose=0)
    assert sum(map(len, python[:3])) > 20
    for row, text in enumerate(texts):
        served = served_entities(out, row)
        assert served == python[row], row
        assert all(text[e["start"]:e["end"]] == e["text"] for e in served)
    pieces = model.preprocessor.tokenizer.tokenize(joined).row_lengths().numpy()
    assert pieces.min() > 150 and pieces.max() < 15 * 23 + 46
    assert out["tf1/serving_default/windows"].tolist() == [1 + -(-(p - 46) // 23) for p in pieces] + [16, 1]
    assert out["tf1/serving_default/capped"].tolist() == [False] * 3 + [True, False]
    assert out["tf1/serving_default/num_words"][3] > 300  # what 16 windows read of the 1 MB text


def test_windowed_tagger_hostile_input_never_crashes_or_leaks_across_rows(windowed_tagger_export):
    model, path = windowed_tagger_export
    assert read_metadata(path)["long_document"] == "windows" and read_metadata(path)["max_windows"] == 16
    serve = tf.saved_model.load(path).signatures["serving_default"]
    normal = "Barack Obama visited Paris , France"
    long_text = " ".join(["Obama visited Paris and London ."] * 100)  # 600 pieces: capped at 16 windows (391)
    batch = [t.encode() for t in HOSTILE] + [b"x" * (1 << 20), b"\xff\xfe\xc3 broken utf-8", long_text.encode(),
                                             normal.encode()]
    out = serve(text=tf.constant(batch))
    alone = serve(text=tf.constant([normal.encode()]))
    for key in out:  # rows are as wide as the batch's longest text read; the normal row's first columns agree
        got, want = out[key].numpy()[-1], alone[key].numpy()[0]
        np.testing.assert_array_equal(got[:want.shape[0]] if got.ndim else got, want, err_msg=key)
    assert out["num_words"].numpy()[0] == 0 and out["num_words"].numpy()[1] == 0
    assert out["words"].numpy()[len(HOSTILE)][0] == b"x" * (1 << 20)
    assert out["windows"].numpy().tolist() == [1] * (len(HOSTILE) + 2) + [16, 1]
    assert out["capped"].numpy().tolist() == [False] * (len(HOSTILE) + 2) + [True, False]
    assert out["tokens"].shape[1] == 15 * 23 + 46 + 2  # the pieces 16 windows read, [CLS] and [SEP]
    python = model.predict([t.decode("utf-8", "replace") for t in batch[-2:]], verbose=0)
    for row, entities in zip((-2, -1), python):
        n = out["num_entities"].numpy()[row]
        assert [(out["entity_type"].numpy()[row][j].decode(), int(out["entity_start"].numpy()[row][j]),
                 int(out["entity_end"].numpy()[row][j])) for j in range(n)] == [
            (e["type"], e["start"], e["end"]) for e in entities]
    empty = serve(text=tf.constant([], tf.string))
    assert empty["num_entities"].shape == (0,) and empty["windows"].shape == (0,)
    with pytest.raises(tf.errors.InvalidArgumentError, match="is not compatible with expected shape"):
        serve(text=tf.constant([["a"], ["b"]]))


def test_label_tables_refuse_non_bio_tags():
    assert label_tables(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]) == (
        ["", "PER", "LOC"], [0, 1, 1, 2, 2], [False, True, False, True, False])
    with pytest.raises(ValueError, match="Tag 'S-PER' is not BIO"):
        label_tables(["O", "S-PER"])
