"""The Serving API protos round-trip through an export the way TF Serving handles them."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

from bert_keras import BertTokenizer
from bert_keras.data import real_datasets
from bert_keras.export.client import parse_response, predict_grpc, predict_request, rest_body
from bert_keras.export.saved_model import WARMUP_TEXTS


def _serve(sess, meta, request):
    """What the model server does with a PredictRequest: make_ndarray, run the signature, make_tensor_proto."""
    sig = meta.signature_def[request.model_spec.signature_name]
    feed = {sig.inputs[name].name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
    outputs = sess.run({k: v.name for k, v in sig.outputs.items()}, feed)
    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    for name, value in outputs.items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
    return predict_pb2.PredictResponse.FromString(response.SerializeToString())


@pytest.fixture(scope="module")
def served(classifier_export):
    path = classifier_export[1]
    graph = tf.Graph()
    sess = tf.compat.v1.Session(graph=graph)
    meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
    yield path, sess, meta
    sess.close()


def test_grpc_request_through_the_signature_gives_the_keras_answer(served, classifier_dir):
    _, sess, meta = served
    texts = [t for t, _ in real_datasets.rotten_tomatoes()["test"][:16]] + ["Ünïcödé, 北京"]
    pairs = list(reversed(texts))
    request = predict_pb2.PredictRequest.FromString(
        predict_request(texts, "sentiment", version=1).SerializeToString())
    assert request.model_spec.name == "sentiment" and request.model_spec.version.value == 1
    out = parse_response(_serve(sess, meta, request))
    pair_out = parse_response(_serve(sess, meta, predict_request(texts, "sentiment", texts_b=pairs)))
    model = keras.saving.load_model(os.path.join(classifier_dir, "model.keras"), safe_mode=True)
    tokenizer = BertTokenizer.from_pretrained(classifier_dir)
    with open(os.path.join(classifier_dir, "label_map.json")) as f:
        labels = json.load(f)["labels"]
    probs = keras.ops.softmax(model(tokenizer(texts, seq_length=32))).numpy()
    np.testing.assert_allclose(out["probabilities"], probs, atol=1e-5)
    assert [b.decode() for b in out["label"]] == [labels[i] for i in probs.argmax(-1)]
    pair_probs = keras.ops.softmax(model(tokenizer(texts, pairs, seq_length=32))).numpy()
    np.testing.assert_allclose(pair_out["probabilities"], pair_probs, atol=1e-5)


def test_warmup_records_replay(served):
    path, sess, meta = served
    records = list(tf.data.TFRecordDataset(os.path.join(path, "assets.extra", "tf_serving_warmup_requests")))
    logs = [prediction_log_pb2.PredictionLog.FromString(record.numpy()) for record in records]
    names = [log.predict_log.request.model_spec.signature_name for log in logs]
    assert sorted(names) == ["explain", "serve_pair", "serving_default"]
    for name, log in zip(names, logs):
        out = parse_response(_serve(sess, meta, log.predict_log.request))
        if name == "explain":  # one text: the explain signature costs steps x a prediction
            assert out["attributions"].shape == (1, 32) and np.all(np.isfinite(out["attributions"]))
        else:
            assert out["probabilities"].shape == (len(WARMUP_TEXTS), 2)


def test_rest_body_and_bad_requests():
    body = rest_body(["a", "b"], texts_b=["c", "d"])
    assert json.loads(json.dumps(body)) == {"signature_name": "serve_pair",
                                            "inputs": {"text_a": ["a", "b"], "text_b": ["c", "d"]}}
    assert rest_body(None, inputs={"question": ("q",), "context": ("c",)}) == {
        "signature_name": "serving_default", "inputs": {"question": ["q"], "context": ["c"]}}
    with pytest.raises(ValueError, match="a list of texts"):
        predict_request("one string", "m")
    with pytest.raises(ValueError, match=r"one text per row; got lengths \{.text_a.: 2, .text_b.: 1\}"):
        predict_request(["a", "b"], "m", texts_b=["c"])


def test_grpc_call_to_a_closed_port_fails_cleanly():
    import grpc
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(grpc.RpcError):
        predict_grpc(f"127.0.0.1:{port}", predict_request(["x"], "m"), timeout=2.0)


def test_example_models_config_is_a_valid_model_server_config():
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    from tests.helpers import ROOT

    with open(os.path.join(ROOT, "export", "models.config"), encoding="utf-8") as f:
        config = text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == ("sentiment", "/models/sentiment", "tensorflow")
    assert model.model_version_policy.latest.num_versions == 2


@pytest.mark.parametrize("fixture", ["tagger_export", "qa_export"])
def test_warmup_and_requests_for_tagging_and_qa_exports(fixture, request, tmp_path):
    from bert_keras.export.client import qa_request

    path = request.getfixturevalue(fixture)
    records = list(tf.data.TFRecordDataset(os.path.join(path, "assets.extra", "tf_serving_warmup_requests")))
    assert len(records) == 1
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
        log = prediction_log_pb2.PredictionLog.FromString(records[0].numpy())
        warm = parse_response(_serve(sess, meta, log.predict_log.request))
        if fixture == "tagger_export":
            out = parse_response(_serve(sess, meta, predict_request(["Barack Obama visited Paris"], "ner")))
            assert warm["num_words"].shape == (len(WARMUP_TEXTS),)
            assert [w.decode() for w in out["words"][0][:out["num_words"][0]]] == ["Barack", "Obama", "visited",
                                                                                   "Paris"]
        else:
            context = "Barack Obama visited Paris in 2009."
            out = parse_response(_serve(sess, meta, qa_request(["Who visited Paris?"], [context], "qa")))
            assert warm["answer"].shape == (len(WARMUP_TEXTS),)
            start, end = out["start"][0], out["end"][0]
            assert context[start:end] == out["answer"][0].decode()
