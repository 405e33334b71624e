import keras
import numpy as np
import pytest

from bert_keras import BertTokenClassifier
from bert_keras.metrics.tagging import bio_spans
from bert_keras.models.bert_token_classifier import word_tags_to_entities
from bert_keras.text.word_features import word_windows
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


def test_outputs_from_word_vectors_equal_the_model_on_the_lookup():
    model = BertTokenClassifier(tiny_encoder(), num_labels=5)
    features = random_features(pad_from=8)
    lookup = np.asarray(model.encoder.embeddings.word_embeddings)[features["input_word_ids"]]
    np.testing.assert_allclose(model.outputs_from_word_vectors(features, lookup), model(features), atol=1e-5)


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


# ---------------------------------------------------------------------------------------------- on text

HOSTILE = ["", "   \t\n ", "\x00\x01\x1b[31m control", "😀🎉👍🏽 party", "שלום עולם مرحبا", "北京，Straße ² café"]


def _wnut_tagger(tokenizer, **kwargs):
    from bert_keras import BertEncoder, BertTextPreprocessor

    encoder = BertEncoder.from_config_name("tiny", vocab_size=tokenizer.vocab_size)
    return BertTokenClassifier(encoder, preprocessor=BertTextPreprocessor(tokenizer, seq_length=48), **kwargs)


@pytest.fixture(scope="module")
def wnut_tagger(minilm_tokenizer):
    """A tiny tagger on MiniLM's vocab with W-NUT's 21 BIO tags and an untrained head: it predicts entities all
    over real tweets, so every decoding path (B, I after O, I after another type) shows up."""
    from bert_keras.data import real_datasets
    from bert_keras.text.word_features import bio_tag_set

    keras.utils.set_random_seed(3)
    splits = real_datasets.wnut16()
    return _wnut_tagger(minilm_tokenizer, labels=bio_tag_set(splits["train"])), splits["test"][:40]


def test_fit_on_word_lists_learns_and_names_unnamed_tags(minilm_tokenizer):
    from bert_keras.data import real_datasets

    keras.utils.set_random_seed(7)
    train = real_datasets.wnut16()["train"][:64]
    model = _wnut_tagger(minilm_tokenizer, num_labels=15)  # the BIO tag set of these 64 tweets
    model.compile(learning_rate=2e-3)
    history = model.fit([w for w, _ in train], [t for _, t in train], batch_size=16, epochs=3, verbose=0)
    loss = history.history["loss"]
    assert loss[2] < loss[0] * 0.8, loss
    # Without labels=, string tags are named by their BIO tag set ("O", then B-/I- of each type, sorted).
    assert model.labels[:3] == ["O", "B-company", "I-company"] and len(model.labels) == 15


def test_word_tags_equal_fixed_padding_and_entities_equal_the_export(wnut_tagger, minilm_tokenizer, tmp_path):
    from bert_keras.text.word_features import pack_words
    from tests.helpers import load_in_fresh_process, served_entities

    model, test = wnut_tagger
    words = [w for w, _ in test]
    tags = model.predict(words, verbose=0)
    # Reference: the model on rows padded to seq_length, read on each word's first piece.
    import tensorflow as tf

    features = pack_words(minilm_tokenizer, tf.ragged.constant(words), 48)
    word_index = features.pop("word_index").numpy()
    best = np.asarray(model(features)).argmax(-1)
    for row, sentence in enumerate(words):
        want = ["O"] * len(sentence)
        for pos in np.nonzero(word_index[row] >= 0)[0]:
            want[word_index[row, pos]] = model.labels[best[row, pos]]
        assert tags[row] == want, row
    assert model.task_metrics(words, [t for _, t in test])["true_entities"] == sum(
        len(bio_spans(t)) for _, t in test)

    texts = [" ".join(w) for w in words] + HOSTILE + [" ".join(["word"] * 100)]
    entities = model.predict(texts, verbose=0)
    assert sum(map(len, entities)) > 0
    assert all(text[e["start"]:e["end"]] == e["text"] for text, es in zip(texts, entities) for e in es)
    path = model.export(str(tmp_path / "export"))
    out = load_in_fresh_process(path, {"serving_default": {"text": texts}}, tmp_path)
    for row, text in enumerate(texts):
        assert entities[row] == served_entities(out, row), (row, text)


def test_keras_file_keeps_the_tokenizer_and_tag_names(wnut_tagger, tmp_path):
    model, test = wnut_tagger
    texts = [" ".join(w) for w, _ in test[:10]]
    model.save(str(tmp_path / "tagger.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "tagger.keras"), safe_mode=True)
    assert loaded.labels == model.labels and loaded.preprocessor.seq_length == 48
    assert loaded.predict(texts, verbose=0) == model.predict(texts, verbose=0)


def test_text_inputs_are_checked_at_the_door(wnut_tagger):  # every check runs before a step is taken
    model, _ = wnut_tagger
    with pytest.raises(ValueError, match="Sentence 1 has 2 words but 1 tags"):
        model.fit([["a"], ["b", "c"]], [["O"], ["O"]], verbose=0)
    with pytest.raises(ValueError, match=r"Sentence 0, word 1 \('Paris'\) has tag 'B-city', not one of"):
        model.evaluate([["in", "Paris"]], [["O", "B-city"]], verbose=0)
    with pytest.raises(ValueError, match="Sentence 0 is a string 'Ann went home': training takes sentences split"):
        model.fit(["Ann went home"], [["B-person", "O", "O"]], verbose=0)
    with pytest.raises(ValueError, match="Sentence 0, word 1 is int 3, not a string"):
        model.predict([["a", 3]], verbose=0)
    with pytest.raises(ValueError, match=r"tag ids \[99\] are not ints in \[0, 21\)"):
        model.fit([["a"]], [[99]], verbose=0)
    unnamed = _wnut_tagger(model.preprocessor.tokenizer, num_labels=3)
    with pytest.raises(ValueError, match="no tag names to decode entities with"):
        unnamed.predict(["some text"])
    with pytest.raises(ValueError, match="make the BIO tag set .* of 5 tags but the model has num_labels=3"):
        unnamed.fit([["Ann", "in", "Paris"]], [["B-PER", "O", "B-LOC"]], verbose=0)
    with pytest.raises(ValueError, match="'PER' is not BIO .*pass its names in id order"):
        unnamed.fit([["Ann", "x"]], [["PER", "O"]], verbose=0)  # used to become type "R" and stick
    assert unnamed.labels is None
    unnamed.compile()
    unnamed.fit([["Ann", "x"]], [["B-PER", "O"]], verbose=0)
    assert unnamed.labels == ["O", "B-PER", "I-PER"]
    with pytest.raises(ValueError, match=r"Sentence 0, word 1 is ' ': it has no WordPiece to learn its tag from"):
        model.fit([["Ann", " ", "x"]], [["B-person", "O", "O"]], verbose=0)
    with pytest.raises(ValueError, match="labels are tag names, a list of strings in id order"):
        _wnut_tagger(model.preprocessor.tokenizer, labels=[0, 1, 2])
    for call in (lambda: model.predict(["Ann went"], batch_size=-1), lambda: model.predict([["Ann"]], batch_size=0)):
        with pytest.raises(ValueError, match="batch_size must be a positive integer or None"):
            call()  # -1 used to return [None]


def test_long_texts_in_windows_tag_every_word_with_whole_text_offsets(wnut_tagger, minilm_tokenizer):
    """Python side; the export of a windowed tagger: tests/export/test_tagging_signature.py."""
    from bert_keras import BertTextPreprocessor

    model, test = wnut_tagger
    windowed = BertTokenClassifier.from_config(model.get_config())
    windowed.set_weights(model.get_weights())
    windowed.preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=48, long_document="windows",
                                                 window_stride=23, max_windows=64)
    words = [w for w, _ in test]
    short = [" ".join(w) for w in words if sum(len(minilm_tokenizer.tokenize([x])[0]) for x in w) <= 40][:10]
    assert len(short) == 10 and windowed.predict(short, verbose=0) == model.predict(short, verbose=0)  # one window

    # Tweets joined into texts of hundreds of pieces: every word is read (the truncating model stops at 46).
    joined_words = [sum(words[i:i + 10], []) for i in range(0, 40, 10)]
    joined = [" ".join(w) for w in joined_words]
    pieces = minilm_tokenizer.tokenize(joined).row_lengths().numpy()
    assert pieces.min() > 150, pieces
    entities = windowed.predict(joined, verbose=0)
    assert all(text[e["start"]:e["end"]] == e["text"] for text, es in zip(joined, entities) for e in es)
    late = [e for text, es in zip(joined, entities) for e in es if e["start"] > len(text) // 2]
    assert late and max(e["end"] for e in model.predict(joined, verbose=0)[0]) < len(joined[0]) // 2
    # Word lists: one window gives the truncating model's tags; long ones are tagged to their last word.
    short_words = [w for w in words if " ".join(w) in short]
    assert windowed.predict(short_words, verbose=0) == model.predict(short_words, verbose=0)
    tags, truncated = windowed.predict(joined_words, verbose=0), model.predict(joined_words, verbose=0)
    for w, t, cut in zip(joined_words, tags, truncated):
        assert set(cut[len(w) // 2:]) == {"O"} and set(t[len(w) // 2:]) != {"O"}
    assert windowed.task_metrics(joined_words, tags)["entity_f1"] == 1.0 > model.task_metrics(joined_words, tags)[
        "entity_f1"]

    budget, stride = 46, 23
    # Training reads long sentences as word windows, each with its words' tags.
    rows = windowed.text_dataset(joined_words, tags, batch_size=64)[0]
    assert sum(int(f["input_word_ids"].shape[0]) for f, _ in rows) == sum(
        len(word_windows([len(minilm_tokenizer.tokenize([x])[0]) for x in w], budget, stride)) for w in joined_words)
    head_tail = BertTextPreprocessor(minilm_tokenizer, seq_length=48, long_document="head_tail")
    with pytest.raises(ValueError, match="long_document='truncate' or 'windows'"):
        BertTokenClassifier(model.encoder, labels=model.labels, preprocessor=head_tail)
    kept = windowed.preprocessor
    with pytest.raises(ValueError, match="got 'head_tail': head_tail would drop the middle's words"):
        windowed.preprocessor = head_tail  # assigned after construction: the same refusal
    assert windowed.preprocessor is kept
