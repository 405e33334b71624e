"""Hugging Face BERT directories: the name map to Google's names, and reading safetensors / pytorch_model.bin.

The map is one function, `hf_name(google_name) -> (hf_name, transpose)`, which import inverts over the names
a model expects. torch `Linear.weight` is [out, in], so kernels are transposed; `cls.seq_relationship.weight` is [2, hidden] in both layouts.
Safetensors are read with the `safetensors` package's numpy API (no torch needed).
"""

import os
import re

import numpy as np

from bert_keras.data.utf8_file import read_json

CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
PYTORCH_NAME = "pytorch_model.bin"

# Buffers and tied copies that carry no extra weights.
_IGNORED = re.compile(r"(^|\.)(position_ids|cls\.predictions\.decoder\.(weight|bias))$")


def hf_name(google_name):
    """Maps a Google tensor name to (Hugging Face name without the `bert.` prefix, transpose?)."""
    if google_name == "cls/predictions/output_bias":
        return "cls.predictions.bias", False
    if google_name == "cls/seq_relationship/output_weights":
        return "cls.seq_relationship.weight", False
    if google_name == "cls/seq_relationship/output_bias":
        return "cls.seq_relationship.bias", False
    name = google_name[len("bert/"):] if google_name.startswith("bert/") else google_name
    name = re.sub(r"layer_(\d+)", r"layer.\1", name).replace("/", ".")
    transpose = False
    if name.endswith(".gamma"):
        name = name[: -len(".gamma")] + ".weight"
    elif name.endswith(".beta"):
        name = name[: -len(".beta")] + ".bias"
    elif name.endswith(".kernel"):
        name, transpose = name[: -len(".kernel")] + ".weight", True
    elif name.startswith("embeddings.") and name.count(".") == 1:
        name += ".weight"
    return name, transpose


def _legacy_layer_norm_names(name):
    # Checkpoints converted by old pytorch-pretrained-bert use LayerNorm.gamma/beta.
    return name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")


def read_tensors(directory):
    """Reads all tensors of a Hugging Face directory as {name: float32 ndarray}."""
    st_path = os.path.join(directory, SAFETENSORS_NAME)
    index_path = os.path.join(directory, SAFETENSORS_INDEX_NAME)
    pt_path = os.path.join(directory, PYTORCH_NAME)
    if os.path.exists(st_path) or os.path.exists(index_path):
        if os.path.exists(st_path):
            return _read_safetensors(st_path)
        index = read_json(index_path, "re-download the checkpoint's index or re-save the model")
        if not isinstance(index, dict) or not isinstance(index.get("weight_map"), dict):
            raise ValueError(f"{index_path} has no 'weight_map' object; re-download the checkpoint's index.")
        shards = sorted(set(index["weight_map"].values()))
        tensors = {}
        for shard in shards:
            tensors.update(_read_safetensors(os.path.join(directory, shard)))
        return tensors
    if os.path.exists(pt_path):
        try:
            import torch
        except ImportError:
            raise ValueError(
                f"{pt_path} is a pickle-based PyTorch file; it is not read without torch because unpickling "
                "can run arbitrary code. Convert it to model.safetensors (e.g. with transformers: "
                "model.save_pretrained(dir, safe_serialization=True)), or install torch, which is then used "
                "with weights_only=True.") from None
        state = torch.load(pt_path, map_location="cpu", weights_only=True)
        return {k: v.float().numpy() for k, v in state.items()}
    raise FileNotFoundError(
        f"{directory} has {CONFIG_NAME} but no weights: expected {SAFETENSORS_NAME}, {SAFETENSORS_INDEX_NAME} "
        f"or {PYTORCH_NAME}.")


def _read_safetensors(path):
    """`safetensors.numpy.load_file`, with a truncated or corrupt file named instead of a bare SafetensorError."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} is listed by the checkpoint's index but does not exist; re-download the "
                                "checkpoint, or re-save it with save_pretrained.")
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable safetensors file ({os.path.getsize(path):,} bytes; {error}): "
                         "truncated or corrupt. Re-download it, or re-save the model with "
                         "save_pretrained(dir, safe_serialization=True).") from error


def to_google_names(hf_tensors, expected_google_names):
    """Renames Hugging Face tensors to Google names (transposing kernels).

    Returns ({google name: ndarray} for the expected names found, [unused Hugging Face names]).
    """
    has_prefix = any(k.startswith("bert.") for k in hf_tensors)
    out, used = {}, set()
    for g in expected_google_names:
        name, transpose = hf_name(g)
        candidates = [name, _legacy_layer_norm_names(name)]
        if has_prefix and not name.startswith("cls."):
            candidates = ["bert." + c for c in candidates] + candidates
        for c in candidates:
            if c in hf_tensors:
                value = np.asarray(hf_tensors[c])
                out[g] = value.T if transpose else value
                used.add(c)
                break
    unused = sorted(k for k in hf_tensors if k not in used and not _IGNORED.search(k))
    return out, unused
