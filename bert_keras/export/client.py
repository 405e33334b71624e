"""TF Serving client helpers on the official `tensorflow-serving-api` protos: gRPC `PredictRequest`s and REST
JSON bodies built from raw text, and responses read back into numpy.

    from bert_keras.export.client import predict_request, predict_grpc
    request = predict_request(["a great film"], model_name="sentiment")
    outputs = predict_grpc("localhost:8500", request)   # {"probabilities": ..., "label_id": ..., "label": ...}

No model server can be installed on the machines this project is tested on; the tests round-trip the protos
through the SavedModel the way the server does (`tf.make_ndarray` on each input, the signature, then
`tf.make_tensor_proto` on each output).
"""

import numpy as np


def _string_tensor(texts):
    import tensorflow as tf

    if isinstance(texts, (str, bytes)):
        raise ValueError("Pass a list of texts (a batch), not a single string.")
    values = [t.encode("utf-8") if isinstance(t, str) else bytes(t) for t in texts]
    return tf.make_tensor_proto(np.array(values, dtype=object), dtype=tf.string, shape=[len(values)])


def make_request(model_name, inputs, signature_name="serving_default", version=None):
    """A `PredictRequest` with one string input per name: `inputs` is {input name: list of texts}."""
    from tensorflow_serving.apis import predict_pb2

    lengths = {name: len(texts) for name, texts in inputs.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"Every input needs one text per row; got lengths {lengths}.")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, texts in inputs.items():
        request.inputs[name].CopyFrom(_string_tensor(texts))
    return request


def predict_request(texts, model_name, texts_b=None, signature_name=None, version=None):
    """A classifier/regressor/tagger `PredictRequest`: `serving_default` (input `text`) or, with `texts_b`,
    `serve_pair` (inputs `text_a`, `text_b`)."""
    if texts_b is None:
        return make_request(model_name, {"text": texts}, signature_name or "serving_default", version)
    return make_request(model_name, {"text_a": texts, "text_b": texts_b}, signature_name or "serve_pair", version)


def qa_request(questions, contexts, model_name, version=None):
    """A span-QA `PredictRequest` (`serving_default`, inputs `question` and `context`)."""
    return make_request(model_name, {"question": questions, "context": contexts}, "serving_default", version)


def rest_body(texts, texts_b=None, signature_name=None, inputs=None):
    """The JSON body for `POST /v1/models/<name>:predict` (columnar `inputs` format): `text` (with `texts_b`:
    `text_a`, `text_b` for `serve_pair`), or any `inputs` ({input name: texts}, e.g. `question` and `context`)."""
    if inputs is not None:
        return {"signature_name": signature_name or "serving_default", "inputs": {k: list(v) for k, v in inputs.items()}}
    if texts_b is None:
        return {"signature_name": signature_name or "serving_default", "inputs": {"text": list(texts)}}
    return {"signature_name": signature_name or "serve_pair", "inputs": {"text_a": list(texts), "text_b": list(texts_b)}}


def parse_response(response):
    """{output name: numpy array} from a `PredictResponse` (strings as bytes)."""
    import tensorflow as tf

    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def predict_grpc(address, request, timeout=10.0):
    """Sends `request` to a TF Serving gRPC endpoint (`host:port`) and returns the parsed outputs."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return parse_response(stub.Predict(request, timeout=timeout))
