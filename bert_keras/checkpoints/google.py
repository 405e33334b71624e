"""Google BERT (google-research/bert `modeling.py`) TF1 checkpoints: the variable-name map, reading and writing.

Google's variable names are this package's canonical names: the Hugging Face map (`huggingface.py`) is
written as a function of them, so every format goes through the one assignment in `loader.py`.
Tensors are kept in Google's layout ([in, out] kernels; `cls/seq_relationship/output_weights` is [2, hidden]).

Activation note: `modeling.py` of the bert-tensorflow release evaluates "gelu" with the tanh approximation,
while Hugging Face (and the original pretraining) use the exact erf form; this package reads "gelu" with
Hugging Face's meaning. Pass `activation="gelu_approximate"` to reproduce `modeling.py` exactly.
"""

import glob
import json
import os
import shutil
import tempfile

import numpy as np

CONFIG_NAME = "bert_config.json"
CHECKPOINT_NAME = "bert_model.ckpt"

# Variables in Google checkpoints that are training state, not model weights.
_OPTIMIZER_SUFFIXES = ("/adam_m", "/adam_v", "/Momentum", "/lamb_m", "/lamb_v")
_OPTIMIZER_NAMES = ("global_step", "good_steps", "loss_scale", "current_loss_scale")

HEAD_NAMES = (
    "cls/predictions/transform/dense/kernel",
    "cls/predictions/transform/dense/bias",
    "cls/predictions/transform/LayerNorm/gamma",
    "cls/predictions/transform/LayerNorm/beta",
    "cls/predictions/output_bias",
    "cls/seq_relationship/output_weights",
    "cls/seq_relationship/output_bias",
)


def is_optimizer_state(name):
    return name.endswith(_OPTIMIZER_SUFFIXES) or name.split("/")[-1] in _OPTIMIZER_NAMES


def encoder_weight_map(encoder):
    """Pairs each encoder variable with the Google tensor name(s) it holds.

    Returns a list of (variable, [names]); where several names share one variable (the fused query/key/value
    projection) their tensors are concatenated along the last axis in that order.
    """
    emb = encoder.embeddings
    pairs = [
        (emb.word_embeddings, ["bert/embeddings/word_embeddings"]),
        (emb.token_type_embeddings, ["bert/embeddings/token_type_embeddings"]),
        (emb.position_embeddings, ["bert/embeddings/position_embeddings"]),
        (emb.layer_norm.gamma, ["bert/embeddings/LayerNorm/gamma"]),
        (emb.layer_norm.beta, ["bert/embeddings/LayerNorm/beta"]),
    ]
    for i, block in enumerate(encoder.transformer_blocks):
        p = f"bert/encoder/layer_{i}/"
        att = block.attention
        qkv = [p + f"attention/self/{part}/" for part in ("query", "key", "value")]
        pairs += [
            (att.query_key_value.kernel, [n + "kernel" for n in qkv]),
            (att.query_key_value.bias, [n + "bias" for n in qkv]),
            (att.output_dense.kernel, [p + "attention/output/dense/kernel"]),
            (att.output_dense.bias, [p + "attention/output/dense/bias"]),
            (block.attention_layer_norm.gamma, [p + "attention/output/LayerNorm/gamma"]),
            (block.attention_layer_norm.beta, [p + "attention/output/LayerNorm/beta"]),
            (block.intermediate_dense.kernel, [p + "intermediate/dense/kernel"]),
            (block.intermediate_dense.bias, [p + "intermediate/dense/bias"]),
            (block.output_dense.kernel, [p + "output/dense/kernel"]),
            (block.output_dense.bias, [p + "output/dense/bias"]),
            (block.output_layer_norm.gamma, [p + "output/LayerNorm/gamma"]),
            (block.output_layer_norm.beta, [p + "output/LayerNorm/beta"]),
        ]
    pairs += [
        (encoder.pooler.dense.kernel, ["bert/pooler/dense/kernel"]),
        (encoder.pooler.dense.bias, ["bert/pooler/dense/bias"]),
    ]
    return pairs


def head_weight_map(pretrainer):
    """Pairs each pretraining-head variable of a `BertPretrainer` with (Google name, transposed?)."""
    mlm, nsp = pretrainer.masked_lm_head, pretrainer.next_sentence_head
    return [
        (mlm.dense.kernel, "cls/predictions/transform/dense/kernel", False),
        (mlm.dense.bias, "cls/predictions/transform/dense/bias", False),
        (mlm.layer_norm.gamma, "cls/predictions/transform/LayerNorm/gamma", False),
        (mlm.layer_norm.beta, "cls/predictions/transform/LayerNorm/beta", False),
        (mlm.output_bias, "cls/predictions/output_bias", False),
        (nsp.dense.kernel, "cls/seq_relationship/output_weights", True),
        (nsp.dense.bias, "cls/seq_relationship/output_bias", False),
    ]


def encoder_tensor_names(num_layers):
    """Every Google tensor name of an encoder with `num_layers` blocks (without building one)."""
    names = ["bert/embeddings/word_embeddings", "bert/embeddings/token_type_embeddings",
             "bert/embeddings/position_embeddings", "bert/embeddings/LayerNorm/gamma",
             "bert/embeddings/LayerNorm/beta"]
    for i in range(num_layers):
        p = f"bert/encoder/layer_{i}/"
        for part in ("attention/self/query", "attention/self/key", "attention/self/value",
                     "attention/output/dense", "intermediate/dense", "output/dense"):
            names += [p + part + "/kernel", p + part + "/bias"]
        for part in ("attention/output/LayerNorm", "output/LayerNorm"):
            names += [p + part + "/gamma", p + part + "/beta"]
    return names + ["bert/pooler/dense/kernel", "bert/pooler/dense/bias"]


def find_checkpoint_prefix(path):
    """Returns the TF checkpoint prefix for a Google directory or prefix, or None if there is none."""
    if os.path.exists(path + ".index"):
        return path
    if not os.path.isdir(path):
        return None
    state = os.path.join(path, "checkpoint")
    if os.path.exists(state):
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(path)
        if latest and os.path.exists(latest + ".index"):
            return latest
    if os.path.exists(os.path.join(path, CHECKPOINT_NAME + ".index")):
        return os.path.join(path, CHECKPOINT_NAME)
    candidates = sorted(glob.glob(os.path.join(path, "*.ckpt*.index")))
    if len(candidates) > 1:
        raise ValueError(
            f"{path} holds several checkpoints {[os.path.basename(c)[:-6] for c in candidates]}; pass the "
            "prefix of the one to load (e.g. .../model.ckpt-1000).")
    return candidates[0][: -len(".index")] if candidates else None


def read_checkpoint(prefix):
    """Reads every non-optimizer tensor of a TF checkpoint: ({name: ndarray}, number of optimizer tensors)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(prefix)
    tensors, skipped = {}, 0
    for name in reader.get_variable_to_shape_map():
        if is_optimizer_state(name):
            skipped += 1
            continue
        tensors[name] = reader.get_tensor(name)
    return tensors, skipped


def write_checkpoint(directory, tensors, bert_config, vocab_path=None):
    """Writes a Google-layout BERT directory: `bert_config.json`, `bert_model.ckpt.{index,data-*}`, `vocab.txt`.

    The directory is written aside and renamed into place, so an interrupted write never leaves a
    half-written checkpoint; an existing directory is refused rather than overwritten.

    Args:
        directory: the directory to create.
        tensors: {Google name: ndarray}.
        bert_config: the `bert_config.json` dict (see `bert_keras.configs.encoder_config_to_json`).
        vocab_path: optional vocab file to copy in.
    """
    import tensorflow as tf

    directory = os.path.abspath(directory)
    if os.path.exists(directory):
        raise FileExistsError(f"{directory} already exists; choose a new directory or remove it first.")
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(directory) + "-", dir=parent)
    try:
        names = sorted(tensors)
        tf.raw_ops.SaveV2(
            prefix=os.path.join(tmp, CHECKPOINT_NAME),
            tensor_names=names,
            shape_and_slices=[""] * len(names),
            tensors=[tf.constant(np.asarray(tensors[n])) for n in names],
        )
        with open(os.path.join(tmp, "checkpoint"), "w", encoding="utf-8") as f:
            f.write(f'model_checkpoint_path: "{CHECKPOINT_NAME}"\nall_model_checkpoint_paths: "{CHECKPOINT_NAME}"\n')
        with open(os.path.join(tmp, CONFIG_NAME), "w", encoding="utf-8") as f:
            json.dump(bert_config, f, indent=2, sort_keys=True)
        if vocab_path:
            shutil.copyfile(vocab_path, os.path.join(tmp, "vocab.txt"))
        os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_step_checkpoint(directory, tensors, step, bert_config, keep=3):
    """Adds `bert_model.ckpt-<step>` to an existing directory, Google's training-time layout.

    The tensors are written into a temporary folder and moved in; only then is the `checkpoint` state file
    (what `tf.train.latest_checkpoint` and `find_checkpoint_prefix` read) rewritten to point at them, by an
    atomic rename. A crash at any point leaves the previous checkpoint the one that loads. The oldest
    checkpoints beyond `keep` are then removed.

    Returns:
        The new checkpoint prefix.
    """
    import tensorflow as tf

    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    name = f"{CHECKPOINT_NAME}-{int(step)}"
    tmp = tempfile.mkdtemp(prefix=".tmp-ckpt-", dir=directory)
    try:
        names = sorted(tensors)
        tf.raw_ops.SaveV2(prefix=os.path.join(tmp, name), tensor_names=names, shape_and_slices=[""] * len(names),
                          tensors=[tf.constant(np.asarray(tensors[n])) for n in names])
        for file_name in sorted(os.listdir(tmp), key=lambda f: f.endswith(".index")):  # data files first
            os.replace(os.path.join(tmp, file_name), os.path.join(directory, file_name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    config_tmp = os.path.join(directory, f".{CONFIG_NAME}.tmp")
    with open(config_tmp, "w", encoding="utf-8") as f:
        json.dump(bert_config, f, indent=2, sort_keys=True)
    os.replace(config_tmp, os.path.join(directory, CONFIG_NAME))

    steps = sorted(int(p[len(os.path.join(directory, CHECKPOINT_NAME)) + 1:-len(".index")])
                   for p in glob.glob(os.path.join(directory, CHECKPOINT_NAME + "-*.index")))
    kept = [s for s in steps if s <= int(step)][-keep:]
    state_tmp = os.path.join(directory, ".checkpoint.tmp")
    with open(state_tmp, "w", encoding="utf-8") as f:
        f.write(f'model_checkpoint_path: "{name}"\n')
        for s in kept:
            f.write(f'all_model_checkpoint_paths: "{CHECKPOINT_NAME}-{s}"\n')
    os.replace(state_tmp, os.path.join(directory, "checkpoint"))
    for s in steps:
        if s not in kept:
            for path in glob.glob(os.path.join(directory, f"{CHECKPOINT_NAME}-{s}.*")):
                os.remove(path)
    return os.path.join(directory, name)
