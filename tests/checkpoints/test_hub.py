"""Hub ids resolved offline from a Hugging Face cache laid out as huggingface_hub writes it, from MiniLM's real files."""

import os

import numpy as np
import pytest

from bert_keras.checkpoints.hub import hub_cache_dir, is_hub_id, resolve_checkpoint

REPO = "sentence-transformers/all-MiniLM-L6-v2"
COMMIT = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"


def build_hub_cache(cache, minilm_dir, repo=REPO, commit=COMMIT):
    """`<cache>/models--org--name/{blobs,refs/main,snapshots/<commit>/}`: snapshot files are links to blobs."""
    root = os.path.join(cache, "models--" + repo.replace("/", "--"))
    snapshot = os.path.join(root, "snapshots", commit)
    os.makedirs(snapshot)
    os.makedirs(os.path.join(root, "blobs"))
    os.makedirs(os.path.join(root, "refs"))
    with open(os.path.join(root, "refs", "main"), "w") as f:
        f.write(commit)
    for i, name in enumerate(("config.json", "model.safetensors", "vocab.txt", "tokenizer.json")):
        blob = os.path.join(root, "blobs", f"{i:040x}")
        os.symlink(os.path.join(minilm_dir, name), blob)
        os.symlink(os.path.relpath(blob, snapshot), os.path.join(snapshot, name))
    return snapshot


@pytest.fixture
def offline_cache(tmp_path, monkeypatch, minilm_dir):
    cache = str(tmp_path / "hub")
    snapshot = build_hub_cache(cache, minilm_dir)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", cache)
    return snapshot


def test_hub_ids_resolve_offline_from_the_cache(offline_cache):
    assert resolve_checkpoint(REPO) == offline_cache
    assert resolve_checkpoint("hf://" + REPO) == offline_cache
    assert resolve_checkpoint(f"hf://{REPO}@{COMMIT}") == offline_cache


def test_encoder_tokenizer_and_task_models_load_hub_ids(offline_cache, minilm_encoder, minilm_tokenizer):
    from bert_keras import BertClassifier, BertEncoder, BertTextEmbedder, BertTokenizer

    encoder = BertEncoder.from_pretrained(REPO)
    for a, b in zip(encoder.get_weights(), minilm_encoder.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert BertTokenizer.from_pretrained("hf://" + REPO).vocabulary == minilm_tokenizer.vocabulary
    classifier = BertClassifier.from_pretrained(REPO, num_classes=2)
    assert classifier.preprocessor.tokenizer.vocab_size == 30522
    embedder = BertTextEmbedder.from_pretrained(REPO)
    assert embedder.predict(["A man is playing a guitar."], verbose=0).shape == (1, 384)


def test_offline_miss_names_the_id_the_cache_and_the_fix(tmp_path, monkeypatch):
    from bert_keras import BertEncoder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError) as error:
        BertEncoder.from_pretrained("google-bert/bert-base-chinese")
    message = str(error.value)
    assert "'google-bert/bert-base-chinese'" in message and "HF_HUB_OFFLINE is set" in message
    assert os.path.join(str(tmp_path / "empty"), "models--google-bert--bert-base-chinese") in message
    assert "Pass a local checkpoint directory instead" in message


def test_a_hub_that_answers_no_such_repository_says_so(monkeypatch):
    """Online, the hub's 404 is not 'unreachable': the error names the id and says to check its spelling (no
    network here, so huggingface_hub's download answers as the hub would)."""
    import httpx2  # huggingface_hub's HTTP client
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for error, what in ((RepositoryNotFoundError, "repository"), (RevisionNotFoundError, "revision")):
        def answer(*args, error=error, **kwargs):
            request = httpx2.Request("GET", "https://huggingface.co/api/models/acme/no-such-bert/revision/v2")
            raise error("404 Client Error: Repository Not Found", response=httpx2.Response(404, request=request))

        monkeypatch.setattr(huggingface_hub, "snapshot_download", answer)
        with pytest.raises(FileNotFoundError, match=rf"The hub has no {what} 'acme/no-such-bert'@v2 .* check the "
                                                    "spelling"):
            resolve_checkpoint("hf://acme/no-such-bert@v2")


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub_cache_dir() == str(tmp_path / "home" / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    assert hub_cache_dir() == str(tmp_path / "cache")


def test_local_paths_are_not_hub_ids(minilm_dir, tmp_path):
    assert not is_hub_id(minilm_dir) and resolve_checkpoint(minilm_dir) == minilm_dir
    assert is_hub_id("org/name") and is_hub_id("hf://org/name")
    assert not is_hub_id(str(tmp_path / "missing" / "dir"))  # absolute paths never go to the hub
    with pytest.raises(ValueError, match="is not a hub id of the form org/name"):
        resolve_checkpoint("hf://not-an-id")
