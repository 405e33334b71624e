"""Exports a fine-tuned model directory as a string-in SavedModel that TF Serving loads.

    python -m export.saved_model --model_dir=runs/demo/rotten_tomatoes --export_dir=runs/demo/export [--version N]

Writes `export_dir/<version>/` (the next free integer by default) the way TF Serving expects: written aside,
then renamed into place, so a version is never half-written and an existing one is never overwritten. The
tokenizer is in the graph (`keras.export.ExportArchive`, which also loads under the TF1 session loader that
Serving uses; a plain `tf.Module` does not). Signatures, all taking raw UTF-8 strings:

| signature | inputs | outputs | tasks |
|---|---|---|---|
| `serving_default` | `text` | `probabilities`, `label_id`, `label` (classify) / `score` (regress) | classify, regress |
| `serve_pair` | `text_a`, `text_b` | the same | classify, regress |
| `embed` | `text` | `pooled_output`, `mean_pooled` | every export |
| `preprocess` | `text` | `input_word_ids`, `input_mask`, `input_type_ids` | every export |

Tagging and span-QA exports are not written yet: they are refused with a clear error.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

from absl import app, flags  # noqa: E402

import bert_keras  # noqa: E402,F401  (registers the layers; sets the oneDNN switch)

SUPPORTED_TASKS = ("classify", "regress")


def _next_version(export_dir):
    versions = [int(n) for n in os.listdir(export_dir) if n.isdigit()] if os.path.isdir(export_dir) else []
    return max(versions, default=0) + 1


def custom_ops(saved_model_dir):
    """Op types in the SavedModel's graph (functions included) that core TensorFlow does not define."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta in proto.meta_graphs:
        ops.update(node.op for node in meta.graph_def.node)
        for function in meta.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return sorted(op for op in ops if not hasattr(tf.raw_ops, op))


def export_saved_model(model_dir, export_dir, version=None):
    """Exports `model_dir` (the output of `trainers.finetune`) to `export_dir/<version>/`; returns that path."""
    import keras
    import tensorflow as tf

    from bert_keras import BertTokenizer

    label_map_path = os.path.join(model_dir, "label_map.json")
    if not os.path.exists(label_map_path) or not os.path.exists(os.path.join(model_dir, "model.keras")):
        raise FileNotFoundError(f"{model_dir} is not a fine-tuned model directory (no model.keras / label_map.json); "
                                "pass the --model_dir of trainers.finetune.")
    with open(label_map_path, encoding="utf-8") as f:
        info = json.load(f)
    task = info["task"]
    if task not in SUPPORTED_TASKS:
        raise ValueError(f"Export of {task!r} models is not implemented yet (supported: {SUPPORTED_TASKS}).")
    version = _next_version(export_dir) if version is None else int(version)
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(f"{final} already exists; TF Serving versions are immutable. Pass another --version.")

    model = keras.saving.load_model(os.path.join(model_dir, "model.keras"), safe_mode=True)
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    seq_length = int(info["seq_length"])
    label_names = tf.constant(info["labels"] or [""])
    encoder = model.encoder

    def head(features):
        out = model(features, training=False)
        if task == "regress":
            return {"score": out[:, 0]}
        probabilities = tf.nn.softmax(out, axis=-1)
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "label_id": label_id, "label": tf.gather(label_names, label_id)}

    def serving_default(text):
        return head(tokenizer(text, seq_length=seq_length))

    def serve_pair(text_a, text_b):
        return head(tokenizer(text_a, text_b, seq_length=seq_length))

    def embed(text):
        features = tokenizer(text, seq_length=seq_length)
        outputs = encoder(features, training=False)
        mask = tf.cast(features["input_mask"], outputs["sequence_output"].dtype)[:, :, None]
        mean = tf.reduce_sum(outputs["sequence_output"] * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
        return {"pooled_output": outputs["pooled_output"], "mean_pooled": mean}

    def preprocess(text):
        return tokenizer(text, seq_length=seq_length)

    text = tf.TensorSpec([None], tf.string, name="text")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tokenizer)
    archive.add_endpoint("serving_default", serving_default, input_signature=[text])
    archive.add_endpoint("serve_pair", serve_pair, input_signature=[tf.TensorSpec([None], tf.string, name="text_a"),
                                                                    tf.TensorSpec([None], tf.string, name="text_b")])
    archive.add_endpoint("embed", embed, input_signature=[text])
    archive.add_endpoint("preprocess", preprocess, input_signature=[text])

    os.makedirs(export_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=export_dir)
    try:
        archive.write_out(tmp, verbose=False)
        write_warmup_requests(tmp, WARMUP_TEXTS)
        ops = custom_ops(tmp)
        with open(os.path.join(tmp, "README.md"), "w", encoding="utf-8") as f:
            f.write(_readme(model_dir, task, info, seq_length, ops))
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


WARMUP_TEXTS = ["This is a short sentence.", "A somewhat longer sentence, with punctuation, numbers (42) and accents: café.",
                ""]


def write_warmup_requests(saved_model_dir, texts, model_name="bert"):
    """Writes `assets.extra/tf_serving_warmup_requests`: PredictionLog records TF Serving replays at load time,
    for both text signatures, so the first real request does not pay for graph warm-up."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    from export.client import predict_request

    directory = os.path.join(saved_model_dir, "assets.extra")
    os.makedirs(directory, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(directory, "tf_serving_warmup_requests")) as writer:
        for request in (predict_request(texts, model_name), predict_request(texts, model_name, texts_b=texts[::-1])):
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def _readme(model_dir, task, info, seq_length, ops):
    outputs = "`score`" if task == "regress" else "`probabilities`, `label_id`, `label`"
    return (
        f"# SavedModel exported by bert_keras\n\nFrom `{model_dir}` (task `{task}`, labels {info['labels']}, "
        f"seq_length {seq_length}).\n\n"
        f"Signatures (inputs are raw UTF-8 strings, [batch]):\n"
        f"- `serving_default(text)` and `serve_pair(text_a, text_b)` -> {outputs}\n"
        f"- `embed(text)` -> `pooled_output`, `mean_pooled`\n"
        f"- `preprocess(text)` -> `input_word_ids`, `input_mask`, `input_type_ids`\n\n"
        f"Custom (tensorflow-text) ops in the graph: {', '.join(f'`{op}`' for op in ops) or 'none'}. "
        "Loading needs them registered: `import tensorflow_text` in Python; the stock TF Serving model server "
        "links the TF Text ops (keep its TensorFlow minor version equal to this export's, 2.21).\n"
    )


FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model_dir", None, "A trainers.finetune output directory.", required=True)
    flags.DEFINE_string("export_dir", None, "Base directory; the version goes in a numbered subdirectory.",
                        required=True)
    flags.DEFINE_integer("version", None, "Version number (default: the next free one).")


def main(argv):
    del argv
    path = export_saved_model(FLAGS.model_dir, FLAGS.export_dir, FLAGS.version)
    print(f"Exported {path}; custom ops: {custom_ops(path)}")


def cli():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    cli()
