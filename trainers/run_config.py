"""What every training CLI shares: the settings dataclass base and the absl `main` that fills it from flags.

`trainers.finetune.FinetuneConfig` and `trainers.pretrain.PretrainConfig` extend `RunConfig` (same names, types
and meaning as their flags; a subclass may change a default), and both programs' `main` is `main_for(...)`.
"""

import dataclasses
import json
import logging


@dataclasses.dataclass
class RunConfig:
    """Output directory, model source, batch and optimizer basics, distribution and seed."""

    model_dir: str
    init_checkpoint: str = None
    config: str = "tiny"
    vocab: str = None
    lower_case: bool = True
    seq_length: int = 128
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    dropout: float = 0.1
    strategy: str = "default"
    tpu: str = None
    num_cpu_devices: int = 1
    mixed_precision: str = "auto"
    jit_compile: bool = False
    steps_per_execution: int = 1
    seed: int = 0
    verbose: int = 1


def config_from_flags(config_class, flag_values, list_flags=()):
    """A `config_class` from the absl flag values of the same names; list flags are joined with commas."""
    values = {f.name: flag_values[f.name].value for f in dataclasses.fields(config_class) if f.name in flag_values}
    for name in list_flags:
        if values.get(name) is not None:
            values[name] = ",".join(values[name])
    return config_class(**values)


def main_for(config_class, run, list_flags=()):
    """The absl `main` of a trainer: logs at INFO, builds the config from the flags, runs it and prints the
    metrics it returns (None on workers other than the chief) as JSON."""
    def main(argv):
        from absl import flags

        del argv
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        result = run(config_from_flags(config_class, flags.FLAGS, list_flags))
        if result is not None:
            print(json.dumps(result, indent=2))
    return main


def define_corpus_flags(required=True, default_format="google"):
    """--corpus and --input_format, the same for every program that reads a text corpus."""
    from absl import flags

    from bert_keras.data.pretraining_corpus import BUNDLED_CORPORA, INPUT_FORMATS

    flags.DEFINE_list("corpus", None, "Text files, globs or directories (comma-separated), or a bundled real corpus: "
                      f"{', '.join(BUNDLED_CORPORA)}.", required=required)
    flags.DEFINE_enum("input_format", default_format, list(INPUT_FORMATS), "google: a sentence per line, blank line "
                      "between documents; paragraphs: prose, split into sentences here.")
