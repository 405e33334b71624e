"""Command line of `bert_keras.export.tflite`: converts an `export.saved_model` SavedModel to TFLite (LiteRT), float
or quantized, string- or id-input (the variants: that module's docstring, and README "Export").

    python -m export.tflite --saved_model=runs/demo/export/1 --output=runs/demo/model.tflite \
        [--quantize={none,float16,int8_dynamic,int8}] [--inputs={text,ids}] [--calibration_file=texts.txt]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from bert_keras.command_line import run_main  # noqa: E402
from bert_keras.export.tflite import INPUTS, QUANTIZATIONS, convert  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("saved_model", None, "An export.saved_model version directory (e.g. export/1).",
                        required=True)
    flags.DEFINE_string("output", None, "The .tflite file to write.", required=True)
    flags.DEFINE_enum("quantize", "none", list(QUANTIZATIONS), "Weight/activation quantization.")
    flags.DEFINE_enum("inputs", "text", list(INPUTS), "text: tokenizer inside; ids: the three int32 features.")
    flags.DEFINE_string("calibration_file", None, "int8: texts to calibrate on, one per line.")
    flags.DEFINE_integer("calibration_examples", 100, "int8: how many texts to calibrate on.", lower_bound=1)


def main(argv):
    del argv
    path = convert(FLAGS.saved_model, FLAGS.output, FLAGS.quantize, FLAGS.inputs, FLAGS.calibration_file,
                   FLAGS.calibration_examples)
    print(f"Wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


def cli():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    cli()
