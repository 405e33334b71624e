"""Shared fixtures: the real MiniLM checkpoint, its tokenizer and encoder (loaded once), the reference outputs."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# precision="auto" (the default of from_pretrained and --mixed_precision) picks mixed_bfloat16 on CPUs with native
# bfloat16; the suite's reference tolerances are float32's, so "auto" means float32 here on every machine
# (subprocesses inherit it). tests/test_precision.py checks what "auto" picks without it.
os.environ["BERT_KERAS_PRECISION"] = "float32"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
# Scripts, not test modules: --doctest-modules (setup.cfg, for bert_keras/'s examples) would import them;
# make_reference.py runs in the reference venv (torch).
collect_ignore = ["fixtures/make_reference.py", "fixtures/make_captum_reference.py", "export/load_in_fresh_process.py"]


@pytest.fixture(scope="session")
def minilm_dir():
    from bert_keras.data.real_corpora import minilm_dir

    return minilm_dir()


@pytest.fixture(scope="session")
def minilm_tokenizer(minilm_dir):
    from bert_keras import BertTokenizer

    return BertTokenizer.from_pretrained(minilm_dir)


@pytest.fixture(scope="session")
def minilm_encoder(minilm_dir):
    from bert_keras import BertEncoder

    return BertEncoder.from_pretrained(minilm_dir)


@pytest.fixture(scope="session")
def reference():
    """Outputs of transformers (PyTorch) on the real checkpoint; see tests/fixtures/README.md."""
    data = np.load(os.path.join(FIXTURES, "minilm_reference.npz"))
    arrays = {k: data[k] for k in data.files}
    arrays["meta"] = json.loads(str(arrays.pop("meta_json")))
    return arrays


@pytest.fixture(scope="session")
def hf_tokenizer(minilm_dir):
    """The reference tokenizer: Hugging Face's Rust tokenizer from the checkpoint's tokenizer.json."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(minilm_dir, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


# The longest groups (minutes each on 2 cores) start first, so that no worker is left with one at the end.
LONGEST_GROUPS = ["tests/export", "tests/test_readme.py", "tests/benchmarks/test_run.py",
                  "tests/trainers/test_finetune.py", "tests/trainers/test_pretrain.py"]


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test` runs `-n 2 --dist loadgroup`): the export tests share one group, since
    their session fixtures are fine-tuned model directories and exports that one worker builds once; every other
    module is a group of its own, so that its module fixtures are built once. The longest groups go first."""
    groups = {}
    for item in items:
        parts = item.nodeid.split("::")[0].split("/")
        group = "tests/export" if parts[:2] == ["tests", "export"] else "/".join(parts)
        item.add_marker(pytest.mark.xdist_group(group))
        groups[item.nodeid] = group
    rank = {g: i for i, g in enumerate(LONGEST_GROUPS)}
    items.sort(key=lambda item: rank.get(groups[item.nodeid], len(rank)))  # stable: the rest keep their order
