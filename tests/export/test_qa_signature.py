"""The span-QA export: in-graph windowing and answer search equal the Python pipeline
(`build_qa_features` + Keras + `extract_answers`) on the real SQuAD fixture, under both loaders."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_keras import BertTokenizer
from bert_keras.data.real_corpora import package_file
from bert_keras.data.squad import SquadExample, read_squad
from bert_keras.text.squad_features import build_qa_features, extract_answers
from bert_keras.export.saved_model import export_saved_model
from tests.helpers import load_in_fresh_process


def python_answers(model_dir, examples):
    model = keras.saving.load_model(os.path.join(model_dir, "model.keras"), safe_mode=True)
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    with open(os.path.join(model_dir, "label_map.json")) as f:
        info = json.load(f)
    features = build_qa_features(tokenizer, examples, info["seq_length"], info["doc_stride"], info["max_query_length"])
    logits = model({k: features[k] for k in ("input_word_ids", "input_mask", "input_type_ids")})
    answers = extract_answers(examples, features, logits["start_logits"], logits["end_logits"],
                              n_best=info["seq_length"], max_answer_length=info["max_answer_length"])
    windows = np.bincount(features["example_index"], minlength=len(examples))
    return answers, windows


def test_qa_export_matches_the_python_pipeline_in_a_fresh_process(qa_dir, qa_export, tmp_path):
    examples, _ = read_squad(package_file("allennlp", "tests", "fixtures", "data", "squad.json"))
    context = examples[0].context
    examples = examples + [
        SquadExample("empty", "What is here?", "", [], False),
        SquadExample("short", "Where?", "In Paris, café ²北京.", [], False),
        SquadExample("long-question", " ".join(["why"] * 40), context, [], False),
    ]
    path = qa_export
    out = load_in_fresh_process(path, {"serving_default": {"question": [e.question for e in examples],
                                                           "context": [e.context for e in examples]}}, tmp_path)
    expected, windows = python_answers(qa_dir, examples)
    assert windows.max() > 3  # the fixture's paragraph spans several windows at seq 64
    for loader in ("tf1", "tf2"):
        got = {k: out[f"{loader}/serving_default/{k}"] for k in ("answer", "start", "end", "score", "windows")}
        np.testing.assert_array_equal(got["windows"], windows)
        for row, example in enumerate(examples):
            want = expected[example.qid]
            assert got["answer"][row].decode("utf-8") == want["text"], example.qid
            assert (got["start"][row], got["end"][row]) == (want["start"], want["end"])
            np.testing.assert_allclose(got["score"][row], want["score"], atol=1e-5)
            if want["start"] >= 0:
                assert example.context[want["start"]:want["end"]] == want["text"]
    assert out["tf1/serving_default/answer"][-3] == b""  # empty context: no answer, start -1
    assert out["tf1/serving_default/start"][-3] == -1


def test_qa_window_cap_and_hostile_input(qa_dir, tmp_path):
    serve = tf.saved_model.load(export_saved_model(qa_dir, str(tmp_path / "export"), qa_max_windows=4)
                                ).signatures["serving_default"]
    normal_q, normal_c = b"Who visited Paris?", b"Barack Obama visited Paris in 2009 with his family."
    questions = [b"", b"   ", b"\xff\xfe\xc3", "😀?".encode(), b"q", normal_q]
    contexts = [b"", b"x " * (1 << 19), "שלום עולם مرحبا".encode(), b"\x00\x01\x1b[31m", "😀🎉".encode(), normal_c]
    out = serve(question=tf.constant(questions), context=tf.constant(contexts))
    alone = serve(question=tf.constant([normal_q]), context=tf.constant([normal_c]))
    for key in out:
        np.testing.assert_array_equal(out[key].numpy()[-1], alone[key].numpy()[0])
    assert out["windows"].numpy()[1] == 4  # the 1 MB context is capped at qa_max_windows
    assert np.all(np.isfinite(out["score"].numpy()))
    empty = serve(question=tf.constant([], tf.string), context=tf.constant([], tf.string))
    assert empty["answer"].shape == (0,)
    with pytest.raises(tf.errors.InvalidArgumentError, match="same number of elements"):
        serve(question=tf.constant([b"a", b"b"]), context=tf.constant([b"c"]))
