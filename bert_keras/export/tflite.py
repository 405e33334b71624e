"""Converts an `export.saved_model` SavedModel to TFLite (LiteRT), float or quantized, string- or id-input.

    python -m export.tflite --saved_model=runs/demo/export/1 --output=runs/demo/model.tflite \
        [--quantize={none,float16,int8_dynamic,int8}] [--inputs={text,ids}] [--calibration_file=texts.txt]

- `--inputs=text` (classify/regress): the tokenizer is inside; input `text` (raw UTF-8 strings). It holds the
  tensorflow-text ops `FastBertNormalize` and `FastWordpieceTokenizeWithOffsets` as TFLite custom ops, which
  run with `ai_edge_litert.interpreter.InterpreterWithCustomOps` and `tensorflow_text.tflite_registrar.
  SELECT_TFTEXT_OPS` (`export.tflite_model.TFLiteModel` does that). Packing uses dense core ops, so no Flex
  (SELECT_TF_OPS) delegate is needed.
- `--inputs=ids` (every task): converted from the export's `serve_features` signature; built-in ops only, for
  apps that tokenize themselves. Tagging and span-QA models convert this way (their string signatures decode
  entities and search windows with ops TFLite has no kernels for).
- `--quantize`: `float16` weights; `int8_dynamic` (int8 weights, activations quantized on the fly); `int8`
  (weights and activations int8, calibrated on `--calibration_examples` real texts: the training split of the
  dataset the model was fine-tuned on, or `--calibration_file`; ops without int8 kernels stay float).

Both keep the signature name `serving_default` and the SavedModel's output names (`probabilities`,
`label_id`, `label` for a classifier). TensorFlow's own `TFLiteConverter` does the conversion; this module
chooses its settings and writes the file atomically.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import warnings  # noqa: E402

QUANTIZATIONS = ("none", "float16", "int8_dynamic", "int8")
INPUTS = ("text", "ids")


def convert(saved_model_dir, output, quantize="none", inputs="text", calibration_file=None, calibration_examples=100):
    """Converts the export at `saved_model_dir` (a version directory) to a `.tflite` file at `output`.

    Returns:
        `output`.

    Raises:
        ValueError: an unknown `quantize`/`inputs`, or string input for a tagging/QA export.
    """
    import tensorflow as tf
    import tensorflow_text

    from bert_keras.export.saved_model import read_metadata, sample_texts

    if quantize not in QUANTIZATIONS:
        raise ValueError(f"Unknown quantize={quantize!r}; use one of {QUANTIZATIONS}.")
    if inputs not in INPUTS:
        raise ValueError(f"Unknown inputs={inputs!r}; use one of {INPUTS}.")
    metadata = read_metadata(saved_model_dir)
    if inputs == "text" and metadata["task"] not in ("classify", "regress"):
        raise ValueError(f"A {metadata['task']!r} export converts to TFLite with --inputs=ids only: its string "
                         "signature decodes entities / searches answer windows with ops TFLite has no kernels for. "
                         "Tokenize in the app (the export's `preprocess` signature shows the exact features).")
    if inputs == "text" and metadata.get("long_document", "truncate") == "windows":
        raise ValueError(f"{saved_model_dir} reads long texts in windows (long_document='windows'), which its text "
                         "TFLite model does not do: convert with --inputs=ids and run one window per call, "
                         "averaging the windows' logits in the app, or export a model with long_document="
                         "'truncate' or 'head_tail' for a text TFLite model.")
    loaded = tf.saved_model.load(saved_model_dir)
    function = loaded.signatures["serving_default" if inputs == "text" else "serve_features"]
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], loaded)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = inputs == "text"
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        texts = sample_texts(metadata, "train", calibration_file, calibration_examples, flag="--calibration_file")
        preprocess = loaded.signatures["preprocess"]

        def representative_dataset():
            for text in texts:
                batch = tf.constant([text])
                yield {"text": batch} if inputs == "text" else preprocess(text=batch)

        converter.representative_dataset = representative_dataset
        # The calibrator runs the model, tokenizer included: register the tensorflow-text kernels for it.
        converter.target_spec._experimental_custom_op_registerers = tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS
    with warnings.catch_warnings():
        # The converter's int8 calibrator uses tf.lite.Interpreter internally and warns that it is deprecated.
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        model = converter.convert()
    from bert_keras.data.utf8_file import atomic_output

    with atomic_output(output) as tmp, open(tmp, "wb") as f:
        f.write(model)
    return output
