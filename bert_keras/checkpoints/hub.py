"""Hub ids -> local checkpoint directories, through `huggingface_hub`'s cache (offline-safe).

`resolve_checkpoint("sentence-transformers/all-MiniLM-L6-v2")` (or `hf://...`) returns the snapshot directory
of the Hugging Face cache (`<HF_HUB_CACHE>/models--org--name/snapshots/<commit>/`), downloading only the files
a BERT checkpoint needs when online. `huggingface_hub` does the cache layout, revisions, locking and
`HF_HUB_OFFLINE`; this module reads `HF_HUB_OFFLINE`, `HF_HUB_CACHE` and `HF_HOME` at call time (the library
reads them once, at import) and turns a miss into an error that says what was searched and what to do.
"""

import os
import re

# What a BERT checkpoint directory needs (loader + tokenizer); safetensors first, the torch file as a fallback.
CHECKPOINT_FILES = ["config.json", "model.safetensors", "model.safetensors.index.json", "model-*.safetensors",
                    "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_TRUE = {"1", "true", "yes", "on"}


def hub_cache_dir():
    """The cache `huggingface_hub` uses: `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return os.path.join(os.path.expanduser(home), "hub")


def is_hub_id(path):
    """True for `hf://org/name[@revision]` and for `org/name` that is not an existing local path."""
    path = os.fspath(path)
    if path.startswith("hf://"):
        return True
    return not os.path.exists(path) and bool(_HUB_ID.match(path.split("@")[0]))


def resolve_checkpoint(path, revision=None):
    """A local directory for `path`: itself if it exists, else the hub snapshot of a hub id.

    Args:
        path: a local file or directory, or `org/name`, `hf://org/name`, `hf://org/name@revision`.
        revision: a branch, tag or commit (default: `main`, or the `@revision` in `path`).

    Raises:
        FileNotFoundError: offline (`HF_HUB_OFFLINE=1`, or no network) and not in the cache: names the id,
            the cache searched and the fix.
    """
    path = os.fspath(path)
    if not is_hub_id(path):
        return path
    repo_id = path[len("hf://"):] if path.startswith("hf://") else path
    if "@" in repo_id:
        repo_id, revision = repo_id.split("@", 1)
    if not _HUB_ID.match(repo_id):
        raise ValueError(f"{path!r} is not a hub id of the form org/name (or hf://org/name[@revision]).")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    cache = hub_cache_dir()
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE
    try:
        return snapshot_download(repo_id, revision=revision, cache_dir=cache, local_files_only=offline,
                                 allow_patterns=CHECKPOINT_FILES)
    except (RepositoryNotFoundError, RevisionNotFoundError) as error:  # the hub answered: no such model
        what = "revision" if isinstance(error, RevisionNotFoundError) else "repository"
        raise FileNotFoundError(
            f"The hub has no {what} {repo_id!r}{'@' + revision if revision else ''} (or it is private or gated: "
            "log in with `huggingface-cli login`); check the spelling at https://huggingface.co/models, or pass a "
            "local checkpoint directory (config.json + model.safetensors + vocab.txt).") from error
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
        where = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
        mode = "HF_HUB_OFFLINE is set" if offline else "the hub could not be reached"
        raise FileNotFoundError(
            f"Cannot resolve the hub id {repo_id!r}{'@' + revision if revision else ''}: {mode} and it is not in "
            f"the Hugging Face cache (searched {where}); nor is there a local path {path!r}. Pass a local checkpoint directory instead (config.json + "
            "model.safetensors + vocab.txt), or download it once where the hub is reachable "
            f"(huggingface-cli download {repo_id}) and point HF_HUB_CACHE at that cache. ({type(error).__name__})"
        ) from error
