"""Finds, reads and assigns pretrained BERT checkpoints, whatever their layout.

`load_checkpoint(path)` returns a `Checkpoint`: the encoder config and every tensor under Google's names,
with the MLM / NSP head tensors (`cls/...`) kept for `BertPretrainer`. `assign_encoder_weights` copies the
encoder tensors into a `BertEncoder`, refusing a missing tensor or a shape mismatch by name.
"""

import dataclasses
import logging
import os

import numpy as np

from bert_keras import configs
from bert_keras.checkpoints import google, huggingface

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Checkpoint:
    """A pretrained BERT checkpoint read into memory.

    Attributes:
        path: where it was read from.
        format: "huggingface" or "google".
        encoder_config: `BertEncoder` constructor arguments.
        tensors: {Google name: ndarray} of the encoder (`bert/...`).
        head_tensors: {Google name: ndarray} of the pretraining heads (`cls/...`) present in the checkpoint.
        unused: tensor names of the file that map to nothing (listed in a warning on load).
        vocab_path: the directory's `vocab.txt`, or None.
        file_names: {Google name: the name the tensor has in the file}, for error messages.
    """

    path: str
    format: str
    encoder_config: dict
    tensors: dict
    head_tensors: dict
    unused: list
    vocab_path: str = None
    file_names: dict = dataclasses.field(default_factory=dict)

    def describe(self, name):
        """`name`, with its spelling in the file when that differs (Hugging Face names)."""
        in_file = self.file_names.get(name, name)
        return repr(name) if in_file == name else f"{in_file!r} ({name} in Google's names)"


def _missing_message(path):
    listing = sorted(os.listdir(path))[:20] if os.path.isdir(path) else "(not a directory)"
    return (
        f"No BERT checkpoint found at {path}. Expected a Hugging Face directory ({huggingface.CONFIG_NAME} + "
        f"{huggingface.SAFETENSORS_NAME}), or a Google directory ({google.CONFIG_NAME} + "
        f"{google.CHECKPOINT_NAME}.index/.data-*), or a checkpoint prefix. Found: {listing}."
    )


def load_checkpoint(path):
    """Reads a Hugging Face or Google BERT checkpoint (directory, TF checkpoint prefix, or hub id).

    Raises:
        FileNotFoundError: nothing at `path` in a known layout.
        ValueError: another architecture (by its config), or no BERT tensors in the file.
    """
    if isinstance(path, Checkpoint):
        return path
    from bert_keras.checkpoints.hub import resolve_checkpoint

    path = resolve_checkpoint(path)
    if not os.path.exists(path) and not os.path.exists(path + ".index"):
        raise FileNotFoundError(_missing_message(path))
    if os.path.isdir(path) and os.path.exists(os.path.join(path, huggingface.CONFIG_NAME)):
        config = configs.encoder_config_from_json(os.path.join(path, huggingface.CONFIG_NAME))
        raw = huggingface.read_tensors(path)
        expected = google.encoder_tensor_names(config["num_layers"]) + list(google.HEAD_NAMES)
        tensors, unused = huggingface.to_google_names(raw, expected)
        file_names = {g: huggingface.hf_name(g)[0] for g in expected}
        fmt, directory = "huggingface", path
    else:
        prefix = google.find_checkpoint_prefix(path)
        if prefix is None:
            raise FileNotFoundError(_missing_message(path))
        directory = os.path.dirname(prefix)
        config_path = os.path.join(directory, google.CONFIG_NAME)
        if not os.path.exists(config_path):
            raise FileNotFoundError(
                f"Found the TF checkpoint {prefix} but no {google.CONFIG_NAME} beside it; copy the "
                "bert_config.json of the release into that directory.")
        config = configs.encoder_config_from_json(config_path)
        tensors, skipped = google.read_checkpoint(prefix)
        if skipped:
            logger.info("Ignored %d optimizer-state tensors in %s.", skipped, prefix)
        expected = set(google.encoder_tensor_names(config["num_layers"])) | set(google.HEAD_NAMES)
        unused = sorted(n for n in tensors if n not in expected)
        tensors = {n: v for n, v in tensors.items() if n in expected}
        file_names = {}
        fmt = "google"
    if "bert/embeddings/word_embeddings" not in tensors:
        raise ValueError(
            f"{path} holds no BERT embedding table (bert/embeddings/word_embeddings or "
            f"embeddings.word_embeddings.weight); its tensors look like {unused[:5]}. Is it a checkpoint of "
            "another architecture, or a TF2 object-based checkpoint (those load with tf.train.Checkpoint)?")
    vocab = os.path.join(directory, "vocab.txt")
    return Checkpoint(
        path=path,
        format=fmt,
        encoder_config=config,
        tensors={n: v for n, v in tensors.items() if n.startswith("bert/")},
        head_tensors={n: v for n, v in tensors.items() if n.startswith("cls/")},
        unused=unused,
        vocab_path=vocab if os.path.exists(vocab) else None,
        file_names=file_names,
    )


def assign_encoder_weights(encoder, checkpoint):
    """Copies a `Checkpoint`'s encoder tensors into `encoder`, checking every name and shape first.

    Nothing is assigned unless every tensor is present with the right shape.

    Raises:
        ValueError: naming the missing tensor, or the tensor with the checkpoint's and the model's shapes.
    """
    updates = []
    for variable, names in google.encoder_weight_map(encoder):
        parts = []
        for name in names:
            if name not in checkpoint.tensors:
                raise ValueError(
                    f"Checkpoint {checkpoint.path} lacks the tensor {checkpoint.describe(name)}, which the encoder needs "
                    f"(config: {checkpoint.encoder_config['num_layers']} layers). Is the config file the one "
                    "that belongs to these weights?")
            parts.append(np.asarray(checkpoint.tensors[name], dtype="float32"))
        expected = tuple(variable.shape)
        part_shape = expected[:-1] + (expected[-1] // len(names),)
        for name, part in zip(names, parts):
            if tuple(part.shape) != part_shape:
                raise ValueError(
                    f"Shape mismatch for {checkpoint.describe(name)}: the checkpoint has {tuple(part.shape)}, the "
                    f"model expects {part_shape} (in Google's [in, out] layout). Check that the config file "
                    "matches the weights.")
        updates.append((variable, parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)))
    for variable, value in updates:
        variable.assign(value)
    if checkpoint.unused:
        logger.warning("%d tensors of %s were not used: %s", len(checkpoint.unused), checkpoint.path,
                       checkpoint.unused)
    if checkpoint.head_tensors:
        logger.info("Kept %d pretraining-head tensors (%s) for BertPretrainer.", len(checkpoint.head_tensors),
                    ", ".join(sorted(checkpoint.head_tensors)))


def assign_head_weights(pretrainer, checkpoint):
    """Copies `cls/predictions/*` and `cls/seq_relationship/*` into a `BertPretrainer`'s heads.

    Heads the checkpoint lacks entirely keep their random initialisation (logged); a head present in part, or
    with a wrong shape, is an error naming the tensor.

    Returns:
        The Google names that were assigned.
    """
    pairs = google.head_weight_map(pretrainer)
    groups = {"cls/predictions/": [], "cls/seq_relationship/": []}
    for variable, name, transpose in pairs:
        groups["cls/predictions/" if name.startswith("cls/predictions/") else "cls/seq_relationship/"].append(
            (variable, name, transpose))
    assigned = []
    for prefix, members in groups.items():
        present = [name for _, name, _ in members if name in checkpoint.head_tensors]
        if not present:
            logger.warning("Checkpoint %s has no %s* tensors: that pretraining head starts from random weights.",
                           checkpoint.path, prefix)
            continue
        if len(present) != len(members):
            missing = [name for _, name, _ in members if name not in checkpoint.head_tensors]
            raise ValueError(f"Checkpoint {checkpoint.path} has part of the {prefix}* head but lacks {missing}.")
        for variable, name, transpose in members:
            value = np.asarray(checkpoint.head_tensors[name], dtype="float32")
            value = value.T if transpose else value
            if tuple(value.shape) != tuple(variable.shape):
                shown = tuple(value.T.shape) if transpose else tuple(value.shape)
                raise ValueError(f"Shape mismatch for {checkpoint.describe(name)}: the checkpoint has {shown}, the "
                                 f"model expects {tuple(variable.shape[::-1]) if transpose else tuple(variable.shape)}.")
            variable.assign(value)
            assigned.append(name)
    return assigned


def head_tensors(pretrainer):
    """A `BertPretrainer`'s head weights as {Google name: ndarray} (the inverse of `assign_head_weights`)."""
    out = {}
    for variable, name, transpose in google.head_weight_map(pretrainer):
        value = np.asarray(variable.numpy())
        out[name] = value.T if transpose else value
    return out


def encoder_tensors(encoder):
    """The encoder's weights as {Google name: ndarray} (the inverse of `assign_encoder_weights`)."""
    out = {}
    for variable, names in google.encoder_weight_map(encoder):
        value = np.asarray(variable.numpy())
        for name, part in zip(names, np.split(value, len(names), axis=-1)):
            out[name] = part
    return out


def save_google_checkpoint(encoder, directory, vocab_path=None, head_tensors=None, step=None, keep=3):
    """Writes `encoder` (and optional `cls/...` head tensors) as a Google BERT directory, atomically.

    With `step`, adds `bert_model.ckpt-<step>` to the directory instead (Google's training-time layout, the
    newest `keep` steps kept), as pretraining does after each interval.
    """
    tensors = encoder_tensors(encoder)
    tensors.update(head_tensors or {})
    config = configs.encoder_config_to_json(encoder.encoder_config())
    if step is not None:
        return google.write_step_checkpoint(directory, tensors, step, config, keep)
    return google.write_checkpoint(directory, tensors, config, vocab_path)
