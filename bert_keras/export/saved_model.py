"""Exports a fine-tuned model directory as a string-in SavedModel that TF Serving loads.

    python -m export.saved_model --model_dir=runs/demo/rotten_tomatoes --export_dir=runs/demo/export [--version N]

Writes `export_dir/<version>/` (the next free integer by default) the way TF Serving expects: written aside,
then renamed into place, so a version is never half-written and an existing one is never overwritten. The
tokenizer is in the graph (`keras.export.ExportArchive`, which also loads under the TF1 session loader that
Serving uses; a plain `tf.Module` does not). Signatures, all but `serve_features` taking raw UTF-8 strings [batch]:

| signature | inputs | outputs | tasks |
|---|---|---|---|
| `serving_default` | `text` | `probabilities`, `label_id`, `label` (classify) / `score` (regress); with `long_document="windows"` also `windows` and `capped` (True where `max_windows` stopped reading) | classify, regress |
| `serve_pair` | `text_a`, `text_b` | the same | classify, regress (truncating: not with `long_document` windows or head_tail) |
| `explain` | `text` | `tokens`, `token_start`/`token_end`, `attributions`, `num_tokens` (integrated gradients per WordPiece for the predicted class's probability, `--explain_steps` steps), `label_id`, `label`, `target_score`, `baseline_score` | classify, regress |
| `serving_default` | `text` | `tokens`, `words`, `word_labels`, `word_start`/`word_end`, `num_words`, `entity_type`, `entity_text`, `entity_start`/`entity_end`, `num_entities`; with `long_document="windows"` (every piece, labelled from its max-context window) also `windows`, `capped` | tag |
| `serving_default` | `question`, `context` | `answer`, `start`, `end`, `score`, `no_answer_score`, `windows` | qa |
| `embed` | `text` | `pooled_output`, `mean_pooled` | every export |
| `preprocess` | `text` | `input_word_ids`, `input_mask`, `input_type_ids` | every export |
| `serve_features` | `input_word_ids`, `input_mask`, `input_type_ids` (int32 [batch, seq_length]) | the model's raw outputs: the classify/regress outputs above, `logits` (tag), `start_logits`/`end_logits` (qa) | every export |

The string signatures of classify/regress exports and `embed` run the encoder only as far as the batch's
longest row (`trim_to_longest`; padding is masked, so outputs do not change): a one-sentence request costs
its own length, not `seq_length` (`--pad_to_seq_length` keeps fixed shapes).
Offsets are character offsets into the input text. `serve_features` is for clients that tokenize themselves
and is what the TFLite id-input model is converted from (`export.tflite`).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

import bert_keras  # noqa: E402,F401  (registers the layers; sets the oneDNN switch)
from bert_keras.explain.explain_signature import EXPLAIN_STEPS, explain_function  # noqa: E402
from bert_keras.models.bert_encoder import INPUT_NAMES  # noqa: E402
from bert_keras.text.document_windows import document_logits  # noqa: E402
from bert_keras.text import squad_features  # noqa: E402

SUPPORTED_TASKS = ("classify", "regress", "tag", "qa")
# --export_dtype -> the Keras dtype policy the served encoder computes in.
EXPORT_DTYPES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
METADATA = "bert_keras_export.json"
# The tensorflow-text ops an export may use: present in the TF Text that TF Serving embeds (2.12.1, since
# Serving 2.12; newer TF Text ops such as RoundRobinTrim are not) and in tensorflow_text's TFLite registrar.
SERVING_TEXT_OPS = ("FastBertNormalize", "FastWordpieceTokenizeWithOffsets")


def _check_export_dir(export_dir, version):
    """Refuses an `export_dir` that is a file and a `version` that is not a positive integer, before any work."""
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise NotADirectoryError(f"--export_dir {export_dir} is a file; pass a directory (the model's base directory, "
                                 "whose numbered subdirectories are its versions).")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise ValueError(f"version must be a positive integer (TF Serving loads numbered directories 1, 2, ...), got "
                         f"{version!r}.")


def export_versions(export_dir):
    """The version numbers under an export's base directory (its numbered subdirectories), ascending."""
    return sorted(int(n) for n in os.listdir(export_dir) if n.isdigit()) if os.path.isdir(export_dir) else []


def _next_version(export_dir):
    return max(export_versions(export_dir), default=0) + 1


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


def export_saved_model(model_dir, export_dir, version=None, qa_max_windows=32, pad_to_seq_length=False,
                       export_dtype="float32", explain_steps=None):
    """Exports `model_dir` (the output of `trainers.finetune`) to `export_dir/<version>/`; returns that path.

    Args:
        model_dir: a `trainers.finetune` output directory (model.keras, label_map.json, vocab.txt).
        export_dir: the model's base directory; versions are its numbered subdirectories.
        version: the version number (default: one more than the highest there).
        qa_max_windows: span QA: most context windows searched per example.
        pad_to_seq_length: run the classify/regress/embed signatures on rows padded to seq_length; by default
            they stop at the batch's longest row (same outputs: padding is masked; a one-sentence request then
            costs a fraction of a full row: see benchmarks/). Fixed shapes are for accelerators that compile
            per shape.
        export_dtype: "float32" (default, whatever precision the model trained in) or "bfloat16" (matmuls in
            bfloat16 under the mixed_bfloat16 policy; for servers whose CPUs compute it natively).
        explain_steps: classify/regress: integration steps of the `explain` signature (integrated gradients
            per text, about `explain_steps` times a prediction's cost; `bert_keras.explain.explain_signature`);
            0 leaves the signature out; None: 32 for float32 exports of truncating models, else 0.
    """
    import keras

    from bert_keras import BertTokenizer

    _check_export_dir(export_dir, version)
    from bert_keras.model_dir import read_model_dir

    info = read_model_dir(model_dir, SUPPORTED_TASKS, purpose="export.saved_model")
    model = keras.saving.load_model(os.path.join(model_dir, "model.keras"), safe_mode=True)
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    qa_settings = {"doc_stride": int(info.get("doc_stride", squad_features.DOC_STRIDE)),
                   "max_query_length": int(info.get("max_query_length", squad_features.MAX_QUERY_LENGTH)),
                   "max_answer_length": int(info.get("max_answer_length", squad_features.MAX_ANSWER_LENGTH)),
                   "allow_no_answer": bool(info.get("version_2_with_negative", False))}
    return export_task_model(model, export_dir, version=version, task=info["task"], labels=info.get("labels"),
                             seq_length=int(info["seq_length"]), tokenizer=tokenizer, qa_settings=qa_settings,
                             qa_max_windows=qa_max_windows, pad_to_seq_length=pad_to_seq_length,
                             source=model_dir, dataset=info.get("dataset"), export_dtype=export_dtype,
                             explain_steps=explain_steps)


def export_task_model(model, export_dir, version=None, task=None, labels=None, seq_length=None, tokenizer=None,
                      qa_settings=None, qa_max_windows=32, pad_to_seq_length=False, source=None, dataset=None,
                      export_dtype="float32", explain_steps=None):
    """Exports a task model to `export_dir/<version>/`; returns that path. What `model.export(dir)` calls.

    Args:
        model: a `BertClassifier`, `BertTokenClassifier` or `BertSpanQA`.
        task, labels, seq_length, tokenizer: default to the model's own (`model.task`, `model.labels`, its
            preprocessor's seq_length and tokenizer).
        qa_settings: span QA: doc_stride, max_query_length, max_answer_length, allow_no_answer (default: the
            model's `qa_settings`).
        qa_max_windows, pad_to_seq_length: as `export_saved_model`.
        source: where the model came from, recorded in the export's metadata and README.
        dataset: the bundled dataset it was trained on, if any (for `export.verify`'s sample texts).
        export_dtype, explain_steps: as `export_saved_model`. The graph holds plain weights: a LoRA model's
            factors are merged.
    """
    import keras
    import tensorflow as tf

    from bert_keras import BertTokenizer
    from bert_keras.layers import TextEmbeddingPooling
    from bert_keras.text.segment_packer import trim_to_longest

    if export_dtype not in EXPORT_DTYPES:
        raise ValueError(f"Unknown export_dtype {export_dtype!r}; use one of {sorted(EXPORT_DTYPES)}.")
    if explain_steps is None:
        long_text = getattr(getattr(model, "preprocessor", None), "long_document", "truncate") != "truncate"
        explain_steps = 0 if export_dtype != "float32" or long_text else EXPLAIN_STEPS
    policy = EXPORT_DTYPES[export_dtype]
    if getattr(model, "lora_rank", None) or model.encoder.embeddings.dtype_policy.name != policy:
        model = model.plain_copy(dtype=policy)
    preprocessor = getattr(model, "preprocessor", None)
    task = task or getattr(model, "task", None)
    if task not in SUPPORTED_TASKS:
        raise ValueError(f"Cannot export task {task!r} (supported: {SUPPORTED_TASKS}).")
    labels = list(labels if labels is not None else (getattr(model, "labels", None) or []))
    if task == "classify" and not labels:
        labels = [str(i) for i in range(model.num_classes)]  # no names: the ids, as strings
    if task == "classify" and len(labels) != model.num_classes:
        raise ValueError(f"{len(labels)} labels {labels} for a model of {model.num_classes} classes.")
    if task == "tag" and len(labels) != model.num_labels:
        raise ValueError(f"{len(labels)} tag names {labels[:10]} for a tagger of {model.num_labels} labels: the export "
                         "decodes entities by name; build the model with labels=[...] or pass labels=.")
    if tokenizer is None or seq_length is None:
        if preprocessor is None:
            raise ValueError("The model has no preprocessor: pass tokenizer= and seq_length= to export it.")
        tokenizer = tokenizer or preprocessor.tokenizer
        seq_length = seq_length or preprocessor.seq_length
    # One shard: TF Serving parallelizes across requests, and TFLite's interpreter runs ops one at a time.
    tokenizer = BertTokenizer(**{**tokenizer.get_config(), "parallel_shards": 1})
    _check_export_dir(export_dir, version)
    version = _next_version(export_dir) if version is None else int(version)
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(f"{final} already exists; TF Serving versions are immutable. Pass another --version.")
    encoder = model.encoder
    mean_pool = TextEmbeddingPooling("mean", normalize=False)  # unnormalized: clients that want cosine normalize
    trim = (lambda features: features) if pad_to_seq_length else trim_to_longest

    def head(features):
        out = model(features, training=False)
        return model.serving_outputs(out, labels=labels) if task == "classify" else model.serving_outputs(out)

    def embed(text):
        features = trim(tokenizer(text, seq_length=seq_length))
        outputs = encoder(features, training=False)
        return {"pooled_output": outputs["pooled_output"],
                "mean_pooled": mean_pool(outputs["sequence_output"], features["input_mask"])}

    def preprocess(text):
        return tokenizer(text, seq_length=seq_length)

    def serve_features(input_word_ids, input_mask, input_type_ids):
        return head({"input_word_ids": input_word_ids, "input_mask": input_mask, "input_type_ids": input_type_ids})

    def string_spec(name):
        return tf.TensorSpec([None], tf.string, name=name)

    extra_metadata = {}
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tokenizer)
    if task in ("classify", "regress"):
        long_document = getattr(preprocessor, "long_document", "truncate")

        def serve_text(text):
            if long_document == "truncate":
                return head(trim(tokenizer(text, seq_length=seq_length)))
            logits, extra = document_logits(model, tokenizer, text, preprocessor, trim)
            outputs = model.serving_outputs(logits, labels=labels) if task == "classify" else \
                model.serving_outputs(logits)
            return {**outputs, **extra}

        def serve_pair(text_a, text_b):
            return head(trim(tokenizer(text_a, text_b, seq_length=seq_length)))

        archive.add_endpoint("serving_default", serve_text, input_signature=[string_spec("text")])
        warmup = {"serving_default": {"text": WARMUP_TEXTS}}
        if long_document == "truncate":  # windows and head + tail read single texts (as `predict` does)
            archive.add_endpoint("serve_pair", serve_pair,
                                 input_signature=[string_spec("text_a"), string_spec("text_b")])
            warmup["serve_pair"] = {"text_a": WARMUP_TEXTS, "text_b": WARMUP_TEXTS[::-1]}
        if long_document != "truncate":
            _, stride, max_windows = preprocessor.window_settings
            extra_metadata = {"long_document": long_document, "head_tokens": preprocessor.head_tokens,
                              "window_stride": stride, "max_windows": max_windows,
                              "window_aggregation": getattr(model, "window_aggregation", "mean")}
        if explain_steps and (export_dtype != "float32" or long_document != "truncate"):
            raise ValueError(
                f"explain_steps={explain_steps} needs a float32 export of a truncating model (integrated gradients' "
                f"completeness needs float32; explanations read the first seq_length pieces), got export_dtype="
                f"{export_dtype!r}, long_document={long_document!r}: pass explain_steps=0 (--explain_steps=0).")
        if explain_steps:
            explain = explain_function(model, tokenizer, seq_length, steps=int(explain_steps),
                                       labels=labels if task == "classify" else None)
            archive.add_endpoint("explain", explain, input_signature=[string_spec("text")])
            warmup["explain"] = {"text": WARMUP_TEXTS[:1]}
            extra_metadata["explain_steps"] = int(explain_steps)
    elif task == "tag":
        from bert_keras.text.entity_decoding import tag_outputs

        windows = None
        if getattr(preprocessor, "long_document", "truncate") == "windows":
            _, stride, max_windows = preprocessor.window_settings
            windows = (stride, max_windows)
            extra_metadata = {"long_document": "windows", "window_stride": stride, "max_windows": max_windows}

        def serve_tags(text):
            return tag_outputs(tokenizer, model, text, seq_length, labels, trim=windows is not None,
                               windows=windows)

        archive.add_endpoint("serving_default", serve_tags, input_signature=[string_spec("text")])
        warmup = {"serving_default": {"text": WARMUP_TEXTS}}
    else:
        from bert_keras.text.answer_decoding import qa_outputs

        settings = {"doc_stride": squad_features.DOC_STRIDE, "max_query_length": squad_features.MAX_QUERY_LENGTH,
                    "max_answer_length": squad_features.MAX_ANSWER_LENGTH, "allow_no_answer": False,
                    **getattr(model, "qa_settings", {}), **(qa_settings or {}), "max_windows": int(qa_max_windows)}
        extra_metadata = settings
        def serve_qa(question, context):
            return qa_outputs(tokenizer, model, question, context, seq_length, **settings)

        archive.add_endpoint("serving_default", serve_qa,
                             input_signature=[string_spec("question"), string_spec("context")])
        warmup = {"serving_default": {"question": WARMUP_TEXTS, "context": WARMUP_TEXTS[::-1]}}
    archive.add_endpoint("embed", embed, input_signature=[string_spec("text")])
    archive.add_endpoint("preprocess", preprocess, input_signature=[string_spec("text")])
    archive.add_endpoint("serve_features", serve_features,
                         input_signature=[tf.TensorSpec([None, seq_length], tf.int32, name=name)
                                          for name in INPUT_NAMES])

    _track_each_variable_once(archive)

    os.makedirs(export_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=export_dir)
    try:
        archive.write_out(tmp, verbose=False)
        write_warmup_requests(tmp, warmup)
        ops = custom_ops(tmp)
        unknown = sorted(set(ops) - set(SERVING_TEXT_OPS))
        if unknown:
            raise ValueError(f"The export uses custom ops {unknown} that the stock TF Serving and TFLite builds may "
                             f"lack (only {SERVING_TEXT_OPS} are known to be there); nothing was written.")
        metadata = {"task": task, "labels": labels, "seq_length": seq_length,
                    "model_dir": os.path.abspath(source) if source else None, "dataset": dataset, "custom_ops": ops,
                    "pad_to_seq_length": bool(pad_to_seq_length), "export_dtype": export_dtype, **extra_metadata}
        with open(os.path.join(tmp, "assets.extra", METADATA), "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=2, ensure_ascii=False)
        with open(os.path.join(tmp, "README.md"), "w", encoding="utf-8") as f:
            f.write(_readme(source or type(model).__name__, metadata))
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _track_each_variable_once(archive):
    """Works around keras-team/keras#23553 (open in Keras 3.15): `ExportArchive.track()` records the Keras
    `Variable` wrappers while the endpoints capture the `tf.Variable`s inside them; TensorFlow cannot tell they
    are the same, so every weight is written twice and TF Serving restores two copies (2x disk and 2x RAM).
    Tracking the inner `tf.Variable`s lets the checkpoint de-duplicate them."""
    trackable = archive._tf_trackable
    for name in ("variables", "trainable_variables", "non_trainable_variables"):
        setattr(trackable, name, [getattr(v, "_value", v) for v in getattr(trackable, name)])


def sample_texts(metadata, split, texts_file=None, limit=None, flag="--texts_file"):
    """Real texts for a model: `texts_file` (one per line; a TSV's first column) or else `split` ("train",
    "dev", "test") of the bundled dataset it was fine-tuned on (tagging sentences joined by spaces)."""
    if texts_file:
        if not os.path.exists(texts_file):
            raise FileNotFoundError(f"{flag}: {texts_file} does not exist.")
        from bert_keras.data.utf8_file import read_utf8

        texts = [line.rstrip("\r").split("\t")[0] for line in read_utf8(texts_file).split("\n") if line.strip()]
        if not texts:
            raise ValueError(f"{flag}: {texts_file} holds no texts.")
        return texts[:limit]
    from bert_keras.data import real_datasets

    dataset = metadata.get("dataset")
    if dataset not in real_datasets.DATASETS:
        raise ValueError(f"The model's dataset ({dataset!r}) is not a bundled one; pass {flag} with a few hundred "
                         "real texts like the ones it serves.")
    rows = real_datasets.DATASETS[dataset][1]()[split]
    return [row[0] if isinstance(row[0], str) else " ".join(row[0]) for row in rows][:limit]


def read_metadata(saved_model_dir):
    """The export's `assets.extra/bert_keras_export.json` (task, labels, seq_length, dataset, custom ops)."""
    path = os.path.join(saved_model_dir, "assets.extra", METADATA)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: {saved_model_dir} is not a SavedModel written by "
                                "export.saved_model (pass the numbered version directory, e.g. export/1).")
    from bert_keras.data.utf8_file import read_json

    return read_json(path, fix="export the model again")


WARMUP_TEXTS = ["This is a short sentence.", "A somewhat longer sentence, with punctuation, numbers (42) and accents: café.",
                ""]


def write_warmup_requests(saved_model_dir, requests, model_name="bert"):
    """Writes `assets.extra/tf_serving_warmup_requests`: PredictionLog records TF Serving replays at load time,
    one per string signature ({signature: {input: texts}}), so the first real request does not pay for warm-up."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    from bert_keras.export.client import make_request

    directory = os.path.join(saved_model_dir, "assets.extra")
    os.makedirs(directory, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(directory, "tf_serving_warmup_requests")) as writer:
        for signature, inputs in requests.items():
            request = make_request(model_name, inputs, signature)
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


SIGNATURE_DOCS = {
    "classify": "- `serving_default(text)`, `serve_pair(text_a, text_b)` -> `probabilities`, `label_id`, `label`",
    "regress": "- `serving_default(text)`, `serve_pair(text_a, text_b)` -> `score`",
    "tag": "- `serving_default(text)` -> `tokens`, `words`, `word_labels`, `word_start`, `word_end`, `num_words`, "
           "`entity_type`, `entity_text`, `entity_start`, `entity_end`, `num_entities` (character offsets; "
           "rows padded with \"\" / -1 past `num_words` / `num_entities`)",
    "qa": "- `serving_default(question, context)` -> `answer`, `start`, `end` (character offsets into the context, "
          "-1 for no answer), `score`, `no_answer_score`, `windows`",
}


def _readme(model_dir, metadata):
    ops = metadata["custom_ops"]
    signature_doc = SIGNATURE_DOCS[metadata["task"]]
    if metadata.get("long_document", "truncate") != "truncate":  # single texts only: no serve_pair
        signature_doc = signature_doc.replace(", `serve_pair(text_a, text_b)`", "")
    return (
        f"# SavedModel exported by bert_keras\n\nFrom `{model_dir}` (task `{metadata['task']}`, labels "
        f"{metadata['labels']}, seq_length {metadata['seq_length']}).\n\n"
        + (f"Long texts: read in windows of seq_length - 2 pieces every {metadata['window_stride']}, at most "
           f"{metadata['max_windows']} per text (`windows` counts them, `capped` says a text was cut).\n\n"
           if metadata.get("long_document") == "windows" else "") +
        f"Signatures (string inputs are raw UTF-8, [batch]):\n"
        f"{signature_doc}\n"
        f"- `embed(text)` -> `pooled_output`, `mean_pooled`\n"
        f"- `preprocess(text)` -> `input_word_ids`, `input_mask`, `input_type_ids`\n"
        f"- `serve_features(input_word_ids, input_mask, input_type_ids)` -> the model's raw outputs\n\n"
        f"Custom (tensorflow-text) ops in the graph: {', '.join(f'`{op}`' for op in ops) or 'none'}. "
        "Loading needs them registered: `import tensorflow_text` in Python; the stock TF Serving model server "
        "links the TF Text ops (keep its TensorFlow minor version equal to this export's, 2.21).\n"
    )
