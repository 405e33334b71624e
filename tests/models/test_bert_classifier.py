import keras
import numpy as np
import pytest

from bert_keras import BertClassifier
from bert_keras.data import real_corpora
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


@pytest.mark.parametrize("num_classes", [3, 1])
def test_outputs_from_word_vectors_equal_the_model_on_the_lookup(num_classes):
    model = BertClassifier(tiny_encoder(), num_classes=num_classes)
    features = random_features(pad_from=8)
    lookup = np.asarray(model.encoder.embeddings.word_embeddings)[features["input_word_ids"]]
    np.testing.assert_allclose(model.outputs_from_word_vectors(features, lookup), model(features), atol=1e-5)
    noise = np.random.default_rng(0).normal(size=lookup.shape).astype("float32")
    shifted = model.outputs_from_word_vectors(features, lookup + noise)  # the vectors, not the ids, are read
    assert np.abs(np.asarray(shifted) - np.asarray(model(features))).max() > 1e-3


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


# ---------------------------------------------------------------------------------------------- text path

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import tensorflow as tf  # noqa: E402

from bert_keras import BertTextPreprocessor, BertTokenizer  # noqa: E402
from tests.helpers import real_reviews  # noqa: E402


@pytest.fixture(scope="module")
def reviews():
    return real_reviews(96)


@pytest.fixture(scope="module")
def minilm_classifier(minilm_dir):
    keras.utils.set_random_seed(0)
    return BertClassifier.from_pretrained(minilm_dir, labels=["fresh", "rotten"], seq_length=64)


def test_predict_on_text_equals_fixed_padding_in_input_order(minilm_classifier, reviews):
    texts = reviews[0][:40]
    probs = minilm_classifier.predict(texts, batch_size=8, verbose=0)
    features = minilm_classifier.preprocessor.tokenizer(texts, seq_length=64)
    logits = keras.Model.predict(minilm_classifier, features, batch_size=8, verbose=0)  # ids, padded to 64
    np.testing.assert_allclose(probs, tf.nn.softmax(logits).numpy(), atol=1e-5)
    pairs = minilm_classifier.predict((texts, texts[::-1]), batch_size=8, verbose=0)
    pair_logits = keras.Model.predict(
        minilm_classifier, minilm_classifier.preprocessor.tokenizer(texts, texts[::-1], seq_length=64), verbose=0)
    np.testing.assert_allclose(pairs, tf.nn.softmax(pair_logits).numpy(), atol=1e-5)
    assert minilm_classifier.predict_labels(texts[:3]) == [
        minilm_classifier.labels[i] for i in probs[:3].argmax(-1)]


def test_batches_stop_at_the_longest_row_and_round_up_to_8_under_xla(reviews):
    tokenizer = BertTokenizer.from_pretrained(real_corpora.minilm_dir())
    model = BertClassifier(tiny_encoder(vocab_size=tokenizer.vocab_size, max_sequence_length=64),
                           labels=["fresh", "rotten"], preprocessor=BertTextPreprocessor(tokenizer, seq_length=64))
    texts = reviews[0][:48]
    lengths = tokenizer(texts, seq_length=64)["input_mask"].numpy().sum(-1)

    def widths():
        return [int(f["input_word_ids"].shape[1]) for f in model.text_dataset(texts, batch_size=8)[0]]

    model.compile()
    exact = widths()
    assert sorted(exact) == sorted(int(b.max()) for b in np.split(np.sort(lengths), 6))  # no padding beyond
    model.compile(jit_compile=True)
    assert widths() == [-(-w // 8) * 8 for w in exact] and any(w % 8 for w in exact)  # XLA: few shapes


def test_inputs_lists_arrays_and_datasets_give_the_same_numbers(minilm_classifier, reviews):
    texts, labels = reviews[0][:24], reviews[1][:24]
    expected = minilm_classifier.evaluate(texts, labels, verbose=0, return_dict=True)
    as_bytes = np.array([t.encode() for t in texts], dtype=object)
    for x, y in [(np.array(texts), np.array(labels)), (as_bytes, labels)]:
        got = minilm_classifier.evaluate(x, y, verbose=0, return_dict=True)
        assert got["loss"] == pytest.approx(expected["loss"], abs=1e-5)
    for ds in [tf.data.Dataset.from_tensor_slices((texts, labels)),
               tf.data.Dataset.from_tensor_slices((texts, labels)).batch(5)]:
        got = minilm_classifier.evaluate(ds, verbose=0, return_dict=True)
        assert got["loss"] == pytest.approx(expected["loss"], abs=1e-5)
    ids = [minilm_classifier.labels.index(v) for v in labels]
    assert minilm_classifier.evaluate(texts, ids, verbose=0, return_dict=True)["loss"] == pytest.approx(
        expected["loss"], abs=1e-5)
    pair_ds = tf.data.Dataset.from_tensor_slices(((texts, texts[::-1]), labels))
    assert minilm_classifier.evaluate(pair_ds, verbose=0, return_dict=True)["loss"] == pytest.approx(
        minilm_classifier.evaluate((texts, texts[::-1]), labels, verbose=0, return_dict=True)["loss"], abs=1e-5)


def test_fit_sizes_the_schedule_trains_and_keeps_label_names(minilm_dir, reviews):
    keras.utils.set_random_seed(1)
    model = BertClassifier.from_pretrained(minilm_dir, num_classes=2, seq_length=64)
    texts, labels = reviews
    assert model.labels is None  # no names yet: fit names the classes (sorted), as trainers.finetune does
    history = model.fit(texts, labels, batch_size=16, epochs=2, verbose=0, validation_data=(texts[:32], labels[:32]))
    assert model.labels == ["fresh", "rotten"]
    schedule = model.optimizer._learning_rate  # the WarmupLinearDecay that compile() built
    assert (schedule.total_steps, schedule.warmup_steps) == (12, 1)  # 96 / 16 * 2 epochs, 10% warmup
    assert int(model.optimizer.iterations.numpy()) == 12
    assert history.history["loss"][1] < history.history["loss"][0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # A second fit continues the schedule it started instead of resizing it.
    model.fit(texts[:32], labels[:32], batch_size=16, epochs=1, verbose=0)
    assert schedule.total_steps == 12


def test_user_compile_overrides_the_recipe(reviews):
    tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "film"])
    model = BertClassifier(tiny_encoder(vocab_size=6), labels=["a", "b"],
                           preprocessor=BertTextPreprocessor(tokenizer, seq_length=16))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[])
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    model.compile()
    assert type(model.optimizer).__name__ == "FusedAdamW"
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)


def test_regression_on_text_returns_scores(reviews):
    tokenizer = BertTokenizer.from_pretrained(_minilm())
    model = BertClassifier(tiny_encoder(vocab_size=tokenizer.vocab_size), num_classes=1,
                           preprocessor=BertTextPreprocessor(tokenizer, seq_length=24))
    model.compile(learning_rate=1e-3)
    texts = reviews[0][:32]
    targets = np.linspace(0, 1, 32).astype("float32")
    model.fit(texts, targets, batch_size=8, epochs=1, verbose=0)
    scores = model.predict(texts, verbose=0)
    assert scores.shape == (32,)
    np.testing.assert_allclose(scores, keras.Model.predict(model, tokenizer(texts, seq_length=24), verbose=0)[:, 0],
                               atol=1e-5)
    assert set(model.task_metrics(texts, targets)) == {"pearson", "spearman", "mse"}
    with pytest.raises(ValueError, match="Regression targets must be numbers, got dtype <U"):
        model.fit(texts, ["high"] * 32, verbose=0)


def _minilm():
    from bert_keras.data.real_corpora import minilm_dir

    return minilm_dir()


def test_door_checks(minilm_classifier, minilm_tokenizer, reviews):
    texts, labels = reviews[0][:8], reviews[1][:8]
    with pytest.raises(ValueError, match=r"Target 2 is 'neutral', not one of the model's labels \['fresh', 'rotten'\]"):
        minilm_classifier.evaluate(texts, labels[:2] + ["neutral"] + labels[3:], verbose=0)
    with pytest.raises(ValueError, match=r"Class ids must be ints in \[0, 2\), got dtype int64, range \[0, 5\]"):
        minilm_classifier.evaluate(texts, np.arange(8) % 6, verbose=0)
    with pytest.raises(ValueError, match="8 texts but 7 labels"):
        minilm_classifier.evaluate(texts, labels[:7], verbose=0)
    with pytest.raises(ValueError, match="validation_split is not supported on text inputs"):
        minilm_classifier.fit(texts, labels, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="8 texts_a but 7 texts_b"):
        minilm_classifier.predict((texts, texts[:7]), verbose=0)
    with pytest.raises(ValueError, match="The dataset is infinite"):
        minilm_classifier.evaluate(tf.data.Dataset.from_tensor_slices((texts, labels)).repeat(), verbose=0)
    with pytest.raises(ValueError, match=r"tokenizer's vocabulary has 30522 tokens but the encoder's embedding "
                                         r"table has 64 rows"):
        BertClassifier(tiny_encoder(), num_classes=2, preprocessor=BertTextPreprocessor(minilm_tokenizer, 16))
    with pytest.raises(ValueError, match="seq_length=32 exceeds the encoder's max_sequence_length=24"):
        BertClassifier(tiny_encoder(vocab_size=30522), num_classes=2,
                       preprocessor=BertTextPreprocessor(minilm_tokenizer, 32))
    with pytest.raises(ValueError, match=r"num_classes=3 but 2 labels \['x', 'y'\]"):
        BertClassifier(tiny_encoder(), num_classes=3, labels=["x", "y"])
    model = BertClassifier(tiny_encoder(vocab_size=30522), num_classes=3,
                           preprocessor=BertTextPreprocessor(minilm_tokenizer, 16))
    model.compile()
    with pytest.raises(ValueError, match=r"hold 2 class names \['fresh', 'rotten'\] but the model has num_classes=3"):
        model.fit(texts, labels, verbose=0)
    # Integer label names used to become strings while int targets stayed ids: labels=[1, 0] trained inverted.
    with pytest.raises(ValueError, match=r"labels are class names, strings in id order; got 1 \(int\).*num_classes=n"):
        BertClassifier(tiny_encoder(), labels=[1, 0])
    regressor = BertClassifier(tiny_encoder(vocab_size=30522), num_classes=1,
                               preprocessor=BertTextPreprocessor(minilm_tokenizer, 16))
    regressor.compile()
    for bad, shown in ((np.nan, "nan"), (np.inf, "inf")):  # a NaN target used to turn every weight into NaN
        with pytest.raises(ValueError, match=f"Regression target 3 is {shown}: targets must be finite numbers"):
            regressor.fit(texts, [0.5, 1.0, 0.0, bad, 0.5, 1.0, 0.0, 0.5], verbose=0)
    with pytest.raises(ValueError, match="8 texts but 2 labels"):  # checked before predicting
        regressor.task_metrics(texts, [0.5, 1.0])
    assert int(regressor.optimizer.iterations) == 0


def test_preprocessor_none_opens_the_id_path(minilm_classifier, reviews):
    texts = reviews[0][:4]
    features = minilm_classifier.preprocessor.tokenizer(texts, seq_length=64)
    probs = minilm_classifier.predict(texts, verbose=0)
    preprocessor = minilm_classifier.preprocessor
    try:
        minilm_classifier.preprocessor = None
        logits = minilm_classifier.predict(features, verbose=0)
        assert minilm_classifier.get_config()["preprocessor"] is None
    finally:
        minilm_classifier.preprocessor = preprocessor
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probs, atol=1e-5)


LOAD_AND_PREDICT = """
import json, sys
import keras, numpy as np
import bert_keras  # registers the layers
model = keras.saving.load_model(sys.argv[1], safe_mode=True)
texts = json.loads(sys.argv[2])
np.save(sys.argv[3], model.predict(texts, verbose=0))
print(json.dumps({"labels": model.labels, "seq_length": model.preprocessor.seq_length,
                  "optimizer": type(model.optimizer).__name__}))
"""


def test_save_load_predict_in_a_fresh_process(minilm_classifier, reviews, tmp_path):
    texts = reviews[0][:20]
    path = str(tmp_path / "sentiment.keras")
    minilm_classifier.save(path)
    import zipfile

    with zipfile.ZipFile(path) as archive:  # one self-contained file: vocab in the assets too
        assert any(name.endswith("vocab.txt") for name in archive.namelist())
    out = str(tmp_path / "probs.npy")
    proc = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, path, json.dumps(texts), out],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info == {"labels": ["fresh", "rotten"], "seq_length": 64, "optimizer": "FusedAdamW"}
    np.testing.assert_allclose(np.load(out), minilm_classifier.predict(texts, verbose=0), atol=1e-5)


def test_long_documents_in_windows_are_answered_per_text(minilm_tokenizer, tmp_path):
    from bert_keras import BertEncoder, BertTextPreprocessor
    from bert_keras.data import real_corpora

    articles = [". ".join([title] + body) for _, title, body in list(real_corpora.bbc_news())[:5]] + ["Short."]
    keras.utils.set_random_seed(8)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    windows = BertTextPreprocessor(minilm_tokenizer, seq_length=32, long_document="windows", max_windows=64)
    for how in ("mean", "max"):
        model = BertClassifier(encoder, labels=["a", "b", "c"], preprocessor=windows, window_aggregation=how,
                               window_training="windows")
        probs = model.predict(articles, batch_size=4, verbose=0)
        features, document, counts, _ = windows.windows(articles)
        logits = np.asarray(model.predict_on_batch(features))
        for d in range(len(articles)):
            rows = logits[document.numpy() == d]
            combined = rows.mean(0) if how == "mean" else rows.max(0)
            np.testing.assert_allclose(probs[d], np.exp(combined) / np.exp(combined).sum(), atol=1e-5)
        assert counts.numpy()[0] > 1 and counts.numpy()[-1] == 1
    labels = ["a", "b", "c", "a", "b", "c"]
    result = model.evaluate(articles, labels, return_dict=True, verbose=0)
    picked = probs[np.arange(6), [0, 1, 2, 0, 1, 2]]
    assert result["loss"] == pytest.approx(-np.log(picked).mean(), rel=1e-5)
    assert result["accuracy"] == pytest.approx(np.mean(probs.argmax(-1) == [0, 1, 2, 0, 1, 2]))
    model.compile(learning_rate=1e-3)
    history = model.fit(articles, labels, batch_size=8, epochs=1, verbose=0)  # each window with its text's label
    assert model.optimizer.iterations.numpy() == -(-int(counts.numpy().sum()) // 8) and history.history["loss"]
    model.save(str(tmp_path / "w.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "w.keras"), safe_mode=True)
    assert loaded.preprocessor.long_document == "windows" and loaded.window_aggregation == "max"
    np.testing.assert_allclose(loaded.predict(articles, verbose=0), model.predict(articles, verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match="window_aggregation must be one of"):
        BertClassifier(encoder, num_classes=2, window_aggregation="vote")

    # window_training="documents": batches of texts, the loss on each text's aggregated logits.
    model = BertClassifier(encoder, labels=["a", "b", "c"], preprocessor=windows)  # window_training="documents"
    dataset, batches, order = model.text_dataset(articles, labels, batch_size=4)
    assert batches == 2 and sorted(order.tolist()) == list(range(6))
    model.compile(learning_rate=1e-3)
    probs = model.predict(articles, verbose=0)  # per text, through the window rows
    loss = keras.losses.SparseCategoricalCrossentropy()
    for (features, targets), rows in zip(dataset, np.array_split(order, [4])):
        per_text = np.asarray(model(features))  # the windows' mean logits of each of the batch's texts
        np.testing.assert_allclose(per_text, np.log(probs[rows]) - np.log(probs[rows]).mean(-1, keepdims=True)
                                   + per_text.mean(-1, keepdims=True), atol=1e-4)
        assert model.test_on_batch(features, targets, return_dict=True)["loss"] == pytest.approx(
            float(loss(targets, probs[rows])), rel=1e-4)
    model.fit(articles, labels, batch_size=4, epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == 2  # one update per 4 texts, not per 4 windows
    loaded = keras.saving.load_model(str(_saved(model, tmp_path / "d.keras")), safe_mode=True)
    assert loaded.window_training == "documents"
    with pytest.raises(ValueError, match="window_training must be one of"):
        BertClassifier(encoder, num_classes=2, window_training="pages")


def _saved(model, path):
    model.save(str(path))
    return path
