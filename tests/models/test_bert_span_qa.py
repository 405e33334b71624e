import keras
import numpy as np
import pytest

from bert_keras import BertSpanQA
from bert_keras.data.squad import SquadExample, read_squad
from bert_keras.models.bert_encoder import INPUT_NAMES
from tests.helpers import random_features, tiny_encoder


def test_start_end_logits_and_masked_padding():
    model = BertSpanQA(tiny_encoder())
    out = model(random_features(pad_from=7))
    assert set(out) == {"start_logits", "end_logits"} and out["start_logits"].shape == (2, 10)
    assert np.all(np.asarray(out["start_logits"])[:, 7:] < -1e8)
    assert np.all(np.abs(np.asarray(out["end_logits"])[:, :7]) < 100)


def test_outputs_from_word_vectors_equal_the_model_on_the_lookup():
    model = BertSpanQA(tiny_encoder())
    features = random_features(pad_from=8)
    lookup = np.asarray(model.encoder.embeddings.word_embeddings)[features["input_word_ids"]]
    got, want = model.outputs_from_word_vectors(features, lookup), model(features)
    for name in ("start_logits", "end_logits"):
        np.testing.assert_allclose(np.asarray(got[name])[:, :8], np.asarray(want[name])[:, :8], atol=1e-5)
        assert np.all(np.asarray(got[name])[:, 8:] < -1e8)


def test_keras_file_round_trip(tmp_path):
    model = BertSpanQA(tiny_encoder())
    model.save(str(tmp_path / "q.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "q.keras"), safe_mode=True)
    features = random_features()
    np.testing.assert_allclose(model(features)["end_logits"], loaded(features)["end_logits"], atol=1e-6)


# ---------------------------------------------------------------------------------------------- on text


@pytest.fixture(scope="module")
def squad_qa(minilm_tokenizer):
    """A tiny span-QA model on MiniLM's vocab (untrained head), windows of 64 so the real SQuAD fixture's
    paragraphs need several, plus contexts that are empty, short, non-Latin or past every window."""
    from bert_keras import BertEncoder, BertTextPreprocessor
    from bert_keras.data.real_corpora import package_file

    keras.utils.set_random_seed(4)
    examples, _ = read_squad(package_file("allennlp", "tests", "fixtures", "data", "squad.json"))
    context = examples[0].context
    examples = examples + [
        SquadExample("empty", "What is here?", "", [], False),
        SquadExample("short", "Where?", "In Paris, café ²北京.", [], False),
        SquadExample("long-question", " ".join(["why"] * 40), context, [], False),
        SquadExample("long-context", "Who?", " ".join([context] * 6), [], False),
    ]
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    model = BertSpanQA(encoder, preprocessor=BertTextPreprocessor(minilm_tokenizer, seq_length=64), doc_stride=24,
                       max_query_length=16, max_answer_length=8)
    return model, examples


def test_predict_equals_the_python_windows_and_exhaustive_search(squad_qa, minilm_tokenizer):
    from bert_keras.text.squad_features import build_qa_features, extract_answers

    model, examples = squad_qa
    answers = model.predict(([e.question for e in examples], [e.context for e in examples]), batch_size=3)
    features = build_qa_features(minilm_tokenizer, examples, 64, 24, 16)  # padded to 64: fixed shapes
    assert np.bincount(features["example_index"]).max() > 20  # the long context: every window searched
    logits = model({k: features[k] for k in INPUT_NAMES})
    want = extract_answers(examples, features, logits["start_logits"], logits["end_logits"], n_best=64,
                           max_answer_length=8)
    for example, got in zip(examples, answers):
        expected = want[example.qid]
        assert (got["text"], got["start"], got["end"]) == (expected["text"], expected["start"], expected["end"])
        np.testing.assert_allclose(got["score"], expected["score"], atol=1e-5)
        if got["start"] >= 0:
            assert example.context[got["start"]:got["end"]] == got["text"]
    assert answers[-4]["text"] == "" and answers[-4]["start"] == -1  # the empty context
    again = model.predict(examples)  # SquadExamples in (other batches): the same answers, scores to float error
    assert [(a["text"], a["start"], a["end"]) for a in again] == [(a["text"], a["start"], a["end"]) for a in answers]
    np.testing.assert_allclose([a["score"] for a in again], [a["score"] for a in answers], atol=1e-5)


def test_fit_on_answer_texts_learns_and_round_trips(squad_qa, tmp_path):
    from bert_keras import BertEncoder

    model, examples = squad_qa
    keras.utils.set_random_seed(5)
    qa = BertSpanQA(BertEncoder.from_config_name("tiny", vocab_size=model.encoder.vocab_size),
                    preprocessor=model.preprocessor, doc_stride=24, max_query_length=16, max_answer_length=8)
    qa.compile(learning_rate=3e-3)
    answered = [e for e in examples if e.answers]
    x = ([e.question for e in answered], [e.context for e in answered])
    # Every answer form: text (found in the context), (text, start), a SQuAD dict, a list of golds.
    y = [answered[0].answers[0][0], answered[1].answers[0], {"text": answered[2].answers[0][0],
         "answer_start": answered[2].answers[0][1]}] + [[a for a in e.answers] for e in answered[3:]]
    history = qa.fit(x, y, batch_size=4, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.5
    assert qa.task_metrics(x, y)["f1"] > 0.5  # memorised its 5 training questions
    qa.save(str(tmp_path / "qa.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "qa.keras"), safe_mode=True)
    assert loaded.qa_settings == qa.qa_settings
    assert loaded.predict(x) == qa.predict(x)


def test_text_inputs_are_checked_at_the_door(squad_qa):
    model, _ = squad_qa
    with pytest.raises(ValueError, match="Answer 0 'Lyon' does not occur in its context"):
        model.fit((["Where?"], ["In Paris."]), ["Lyon"], verbose=0)
    with pytest.raises(ValueError, match=r"Answer 0: context\[0:5\] is 'In Pa', not the answer 'Paris'"):
        model.fit((["Where?"], ["In Paris."]), [("Paris", 0)], verbose=0)
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        model.predict((["a", "b"], ["c"]))
    with pytest.raises(ValueError, match="need answers"):
        model.evaluate((["Where?"], ["In Paris."]), verbose=0)
    with pytest.raises(ValueError, match="need answers"):  # used to score 0 exact match against no gold answer
        model.task_metrics((["Where?"], ["In Paris."]))
    with pytest.raises(ValueError, match="x=\\(questions, contexts\\)"):
        model.predict(["just a question"])
    with pytest.raises(ValueError, match="seq_length=16 leaves no room for context after a 16-token question"):
        BertSpanQA(model.encoder, preprocessor=type(model.preprocessor)(model.preprocessor.tokenizer, 16),
                   max_query_length=16)
    for start in ("3", 3.0, -1, True):
        with pytest.raises(ValueError, match=r"Answer 0: answer_start must be a character offset \(an int >= 0\)"):
            model.fit((["Where?"], ["In Paris."]), [("Paris", start)], verbose=0)
    with pytest.raises(ValueError, match=r"Answer 1: answer_start must be .* got '3' \(str\)"):
        model.fit((["Where?", "Where?"], ["In Paris.", "In Paris."]), ["Paris", {"text": "Paris", "answer_start": "3"}],
                  verbose=0)
    windowed = type(model.preprocessor)(model.preprocessor.tokenizer, 64, long_document="windows")
    with pytest.raises(ValueError, match="Span QA reads long contexts in windows of its own .* got 'windows'"):
        BertSpanQA(model.encoder, preprocessor=windowed)
    with pytest.raises(ValueError, match="Span QA reads long contexts"):
        model.preprocessor = windowed
    # A string of answers used to be split into characters, one per question.
    with pytest.raises(ValueError, match=r"answers must be a list with one answer per question, got the single string"):
        model.fit((["Where?"] * 3, ["In Paris."] * 3), "Paris", verbose=0)
    with pytest.raises(ValueError, match="Answer 1 is ' ': an answer needs a word of the context"):
        model.fit((["Where?"] * 2, ["In Paris."] * 2), ["Paris", " "], verbose=0)
    with pytest.raises(ValueError, match=r"Question 1 \('Where\?'\) has no answer, but this model has "
                                         r"allow_no_answer=False: build it with allow_no_answer=True"):
        model.fit((["Where?"] * 2, ["In Paris."] * 2), ["Paris", None], verbose=0)
    from bert_keras.data.squad import SquadExample

    with pytest.raises(ValueError, match="Question q2 .* has no answer"):  # SQuAD 2.0 examples too
        model.fit([SquadExample("q1", "Where?", "In Paris.", [("Paris", 3)]),
                   SquadExample("q2", "Who?", "In Paris.", [], True)], verbose=0)
    # Evaluation still scores a question without an answer (against ""): the model's own answer as the first gold
    # answer gives exact match 1 there and 0 on the no-answer twin, 0.5 in all (1.0 if it were dropped).
    (answer,) = model.predict((["Where?"], ["In Paris."]))
    assert answer["text"].strip()
    assert model.task_metrics((["Where?"] * 2, ["In Paris."] * 2), [(answer["text"], answer["start"]), None]) == \
        {"exact_match": 0.5, "f1": 0.5}
    assert model.examples((["Where?"], ["In Paris."]), [b"Paris"])[0].answers == [("Paris", 3)]
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer or None .*got -1"):
        model.predict((["Where?"], ["In Paris."]), batch_size=-1)  # used to return [None]
