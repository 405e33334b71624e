"""Named BERT sizes and the mapping from checkpoint config files to `BertEncoder` arguments.

The named sizes are those of Google's BERT release (the 24 "compact" models of Turc et al., 2019, plus
BERT-Base and BERT-Large): `num_heads = hidden_dim / 64` and `intermediate_dim = 4 * hidden_dim`.
They are built from the config alone; no weights are downloaded.
"""

import os

from bert_keras.data.utf8_file import read_json

# name -> (num_layers, hidden_dim)
_SIZES = {
    "tiny": (2, 128),
    "mini": (4, 256),
    "small": (4, 512),
    "medium": (8, 512),
    "base": (12, 768),
    "large": (24, 1024),
}

# Activation names as written in `bert_config.json` / `config.json`, with Hugging Face's meaning
# ("gelu" is the exact erf form), mapped to the names `BertEncoder` takes.
_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_exact": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_approximate": "gelu_approximate",
    "relu": "relu",
}

SUPPORTED_ACTIVATIONS = ("gelu", "gelu_approximate", "relu")


def config_names():
    """Returns the named sizes, smallest first."""
    return list(_SIZES)


def named_config(name, vocab_size=30522, **overrides):
    """Returns the `BertEncoder` constructor arguments of a named size.

    Args:
        name: one of `tiny`, `mini`, `small`, `medium`, `base`, `large`.
        vocab_size: the WordPiece vocabulary size (30522 is the uncased English vocab).
        **overrides: any other `BertEncoder` argument, e.g. `max_sequence_length=128`.

    Example:
    >>> named_config("base")["num_heads"]
    12
    """
    if name not in _SIZES:
        raise ValueError(
            f"Unknown BERT config name {name!r}. Use one of {config_names()}, or pass the sizes "
            "(num_layers, hidden_dim, num_heads, intermediate_dim) to BertEncoder directly."
        )
    num_layers, hidden_dim = _SIZES[name]
    config = dict(
        vocab_size=vocab_size,
        hidden_dim=hidden_dim,
        num_layers=num_layers,
        num_heads=hidden_dim // 64,
        intermediate_dim=4 * hidden_dim,
        max_sequence_length=512,
        type_vocab_size=2,
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        activation="gelu",
    )
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"Unknown BertEncoder argument(s) {sorted(unknown)}; known: {sorted(config)}.")
    config.update(overrides)
    return config


def encoder_config_from_json(path):
    """Reads a Hugging Face `config.json` or a Google `bert_config.json` into `BertEncoder` arguments.

    Raises:
        ValueError: the file describes another architecture (not a BERT encoder with absolute position
            embeddings) or an activation this package does not implement.
    """
    raw = read_json(path, "re-download the checkpoint's config or fix that line")
    name = os.path.basename(path)
    model_type = raw.get("model_type", "bert")
    if model_type != "bert":
        raise ValueError(
            f"{path}: model_type is {model_type!r}, not 'bert'. This loader reads BERT checkpoints only; "
            "convert the model with its own library, or use a BERT checkpoint."
        )
    position_type = raw.get("position_embedding_type", "absolute")
    if position_type != "absolute":
        raise ValueError(
            f"{path}: position_embedding_type is {position_type!r}; only 'absolute' (learned) position "
            "embeddings are implemented."
        )
    required = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"]
    missing = [key for key in required if key not in raw]
    if missing:
        raise ValueError(f"{name} at {path} lacks the key(s) {missing}; is it a BERT config file?")
    act = raw.get("hidden_act", "gelu")
    if act not in _ACTIVATIONS:
        raise ValueError(
            f"{path}: hidden_act {act!r} is not supported; supported: {sorted(_ACTIVATIONS)}."
        )
    return dict(
        vocab_size=int(raw["vocab_size"]),
        hidden_dim=int(raw["hidden_size"]),
        num_layers=int(raw["num_hidden_layers"]),
        num_heads=int(raw["num_attention_heads"]),
        intermediate_dim=int(raw["intermediate_size"]),
        max_sequence_length=int(raw.get("max_position_embeddings", 512)),
        type_vocab_size=int(raw.get("type_vocab_size", 2)),
        dropout=float(raw.get("hidden_dropout_prob", 0.1)),
        attention_dropout=float(raw.get("attention_probs_dropout_prob", 0.1)),
        layer_norm_epsilon=float(raw.get("layer_norm_eps", 1e-12)),
        initializer_range=float(raw.get("initializer_range", 0.02)),
        activation=_ACTIVATIONS[act],
    )


def encoder_config_to_json(config):
    """Returns the `bert_config.json` dict (Google's keys, also read by Hugging Face) of encoder arguments."""
    act = {"gelu": "gelu", "gelu_approximate": "gelu_new", "relu": "relu"}[config["activation"]]
    return {
        "attention_probs_dropout_prob": config["attention_dropout"],
        "hidden_act": act,
        "hidden_dropout_prob": config["dropout"],
        "hidden_size": config["hidden_dim"],
        "initializer_range": config["initializer_range"],
        "intermediate_size": config["intermediate_dim"],
        "layer_norm_eps": config["layer_norm_epsilon"],
        "max_position_embeddings": config["max_sequence_length"],
        "num_attention_heads": config["num_heads"],
        "num_hidden_layers": config["num_layers"],
        "type_vocab_size": config["type_vocab_size"],
        "vocab_size": config["vocab_size"],
        "model_type": "bert",
    }
