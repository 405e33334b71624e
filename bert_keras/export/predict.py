"""Answers texts with an exported SavedModel loaded the way TF Serving loads it (TF1 session loader).

    python -m export.predict --saved_model=runs/demo/export/1 --text="An instant classic." --text="Dull."
    python -m export.predict --saved_model=qa_export/1 --question="Who?" --context="..."

`predict` returns one dict per input row with the `serving_default` outputs (strings decoded). The session
loader reads the graph alone (no Python or Keras objects), with tensorflow_text registering the tokenizer ops as
the model server links them: what TF Serving does.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def predict(saved_model_dir, inputs):
    """{output: list per row} from `serving_default` for `inputs` ({input name: [texts]})."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops, as the model server links them)

    if not os.path.exists(os.path.join(saved_model_dir, "saved_model.pb")):
        from bert_keras.export.saved_model import export_versions

        versions = [str(v) for v in export_versions(saved_model_dir)]
        hint = (f"; it holds versions {versions}: pass one, e.g. {os.path.join(saved_model_dir, versions[-1])}"
                if versions else "; pass an export.saved_model version directory, e.g. export/1")
        raise FileNotFoundError(f"{saved_model_dir} holds no saved_model.pb{hint}.")
    rows = {name: len(texts) for name, texts in inputs.items()}
    if not any(rows.values()):
        raise ValueError("Nothing to predict: pass --text (repeatable), or --question with as many --context.")
    if len(set(rows.values())) > 1:
        raise ValueError(f"Inputs of different lengths: {rows}; pass one --context per --question.")
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], saved_model_dir)
        signature = meta.signature_def["serving_default"]
        missing = sorted(set(signature.inputs) - set(inputs))
        if missing:
            raise ValueError(f"{saved_model_dir} serving_default needs inputs {sorted(signature.inputs)}; "
                             f"missing {missing}.")
        outputs = sess.run({k: v.name for k, v in signature.outputs.items()},
                           {signature.inputs[k].name: v for k, v in inputs.items() if k in signature.inputs})

    def plain(value):
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return value.item() if hasattr(value, "item") else value

    rows = len(next(iter(inputs.values())))
    return [{k: (plain(v[i]) if v.ndim == 1 else [plain(x) for x in v[i]]) for k, v in sorted(outputs.items())}
            for i in range(rows)]
