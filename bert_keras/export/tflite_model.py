"""`TFLiteModel`: runs a `.tflite` file written by `export.tflite` from Python, string- or id-input.

Uses `ai_edge_litert` (`tf.lite.Interpreter` is deprecated) with tensorflow-text's TFLite kernels registered,
so the same class runs the string-input model (tokenizer inside) and the built-in-ops id model.
"""

import numpy as np


class TFLiteModel:
    """Calls the `serving_default` signature of a converted model.

    Args:
        path: the `.tflite` file.
        num_threads: interpreter threads (default: LiteRT's choice).

    Example (on the file `make demo` writes; `tests/export/test_tflite.py` runs the same on its own exports):

        model = TFLiteModel("runs/demo/model.tflite")
        model(text=["a gripping, beautifully shot film"])["label"]   # array([b'fresh'], dtype=object)
    """

    def __init__(self, path, num_threads=None):
        import tensorflow_text
        from ai_edge_litert import interpreter as litert

        self.path = path
        self._interpreter = litert.InterpreterWithCustomOps(
            custom_op_registerers=tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS, model_path=path,
            num_threads=num_threads)
        signatures = self._interpreter.get_signature_list()
        if "serving_default" not in signatures:
            raise ValueError(f"{path} has no serving_default signature (found {sorted(signatures)}); convert it "
                             "with export.tflite.")
        self.input_names = sorted(signatures["serving_default"]["inputs"])
        self.output_names = sorted(signatures["serving_default"]["outputs"])
        self._runner = self._interpreter.get_signature_runner("serving_default")

    @property
    def takes_text(self):
        return self.input_names == ["text"]

    def __call__(self, **inputs):
        """Runs one batch: `text=[...]` for the string model, or `input_word_ids=..., input_mask=...,
        input_type_ids=...` ([batch, seq_length] ints) for the id model. Returns {output name: numpy array}."""
        if sorted(inputs) != self.input_names:
            raise ValueError(f"{self.path} takes inputs {self.input_names}, got {sorted(inputs)}.")
        arrays = {}
        for name, value in inputs.items():
            if name == "text":
                if isinstance(value, (str, bytes)):
                    raise ValueError("Pass a list of texts (a batch), not a single string.")
                value = np.array([v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in value], dtype=object)
            else:
                value = np.asarray(value, dtype=np.int32)
            if value.shape[:1] == (0,):
                raise ValueError(f"Input {name!r} is an empty batch; TFLite cannot run a batch of zero rows.")
            arrays[name] = value
        return self._runner(**arrays)
