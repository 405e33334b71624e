import json
import os
import re

import keras
import numpy as np
import pytest

from bert_keras import BertTokenizer
from bert_keras.data import real_datasets
from bert_keras.export.saved_model import custom_ops, export_saved_model
from tests.helpers import load_in_fresh_process


def test_string_in_export_matches_keras_in_a_fresh_process(classifier_dir, classifier_export, tmp_path):
    export_dir, path = classifier_export
    assert path == os.path.join(export_dir, "1")
    assert sorted(n for n in os.listdir(export_dir)) == ["1"]  # nothing half-written left beside it
    texts = [t for t, _ in real_datasets.rotten_tomatoes()["test"][:24]] + ["北京，Straße ²", ""]
    pairs = list(reversed(texts))
    out = load_in_fresh_process(path, {"serving_default": {"text": texts},
                                       "serve_pair": {"text_a": texts, "text_b": pairs},
                                       "embed": {"text": texts}, "preprocess": {"text": texts}}, tmp_path)

    model = keras.saving.load_model(os.path.join(classifier_dir, "model.keras"), safe_mode=True)
    tokenizer = BertTokenizer.from_pretrained(classifier_dir)
    with open(os.path.join(classifier_dir, "label_map.json")) as f:
        labels = json.load(f)["labels"]
    single = tokenizer(texts, seq_length=32)
    pair = tokenizer(texts, pairs, seq_length=32)
    expected = {"serving_default": keras.ops.softmax(model(single)).numpy(),
                "serve_pair": keras.ops.softmax(model(pair)).numpy()}
    for loader in ("tf1", "tf2"):
        for name, probs in expected.items():
            np.testing.assert_allclose(out[f"{loader}/{name}/probabilities"], probs, atol=1e-5)
            np.testing.assert_array_equal(out[f"{loader}/{name}/label_id"], probs.argmax(-1))
            assert [s.decode() for s in out[f"{loader}/{name}/label"]] == [labels[i] for i in probs.argmax(-1)]
        for key in ("input_word_ids", "input_mask", "input_type_ids"):
            np.testing.assert_array_equal(out[f"{loader}/preprocess/{key}"], single[key])
        np.testing.assert_allclose(out[f"{loader}/embed/pooled_output"], model.encoder(single)["pooled_output"],
                                   atol=1e-5)
        sequence = model.encoder(single)["sequence_output"].numpy()
        mask = single["input_mask"].numpy()[:, :, None]
        np.testing.assert_allclose(out[f"{loader}/embed/mean_pooled"], (sequence * mask).sum(1) / mask.sum(1),
                                   atol=1e-5)


def test_explain_signature_gives_the_python_api_numbers_under_the_serving_loader(classifier_dir, classifier_export,
                                                                                 tmp_path):
    from bert_keras.explain import integrated_gradients

    texts = [t for t, _ in real_datasets.rotten_tomatoes()["test"][:6]] + ["北京，Straße ² café", ""]
    out = load_in_fresh_process(classifier_export[1], {"explain": {"text": texts}}, tmp_path)
    model = keras.saving.load_model(os.path.join(classifier_dir, "model.keras"), safe_mode=True)
    expected = integrated_gradients(model, texts, steps=32)
    with open(os.path.join(classifier_export[1], "assets.extra", "bert_keras_export.json")) as f:
        assert json.load(f)["explain_steps"] == 32
    for loader in ("tf1", "tf2"):
        got = {k.split("/")[-1]: v for k, v in out.items() if k.startswith(f"{loader}/explain/")}
        assert got["tokens"].shape == (len(texts), 32)
        for i, e in enumerate(expected):
            n = int(got["num_tokens"][i])
            assert [t.decode() for t in got["tokens"][i, :n]] == e.tokens
            assert got["token_start"][i, :n].tolist() == e.token_start and got["token_end"][i, :n].tolist() == e.token_end
            assert np.all(got["token_start"][i, n:] == -1) and np.all(got["attributions"][i, n:] == 0)
            np.testing.assert_allclose(got["attributions"][i, :n], e.attributions, atol=1e-5)
            assert got["label"][i].decode() == e.label and got["label_id"][i] == model.labels.index(e.label)
            assert abs(got["target_score"][i] - e.target_score) < 1e-5
            assert abs(got["baseline_score"][i] - e.baseline_score) < 1e-5
    # What a client (the CLI's --saved_model, the demo) reads from it: the Python API's explanations.
    from bert_keras.explain import explain_with_saved_model

    for served, e in zip(explain_with_saved_model(classifier_export[1], texts), expected):
        assert served.words == e.words and served.label == e.label and served.steps == 32
        np.testing.assert_allclose(served.word_attributions, e.word_attributions, atol=1e-5)
        assert abs(served.completeness_error - e.completeness_error) < 1e-3 or abs(e.target_score - e.baseline_score) < 1e-4
    # The CLI on the export, in a fresh process.
    import subprocess
    import sys

    from tests.helpers import ROOT

    proc = subprocess.run([sys.executable, "-m", "trainers.explain", f"--saved_model={classifier_export[1]}",
                           f"--text={texts[0]}", f"--output={tmp_path / 'why'}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stderr[-3000:]
    [record] = json.loads((tmp_path / "why" / "explanations.json").read_text(encoding="utf-8"))
    np.testing.assert_allclose(record["attributions"], expected[0].attributions, atol=1e-5)
    assert record["steps"] == 32 and record["label"] == expected[0].label
    # Offsets are characters of the request's text, as the Python API's.
    row = texts.index("北京，Straße ² café")
    e = expected[row]
    assert [texts[row][s:t] for s, t in zip(e.token_start, e.token_end)][1:4] == ["北", "京", "，"]


def test_model_export_writes_the_cli_export(classifier_dir, tmp_path):
    """`model.export(dir)` on the task model (text path) gives the signatures and numbers of the CLI's export."""
    model = keras.saving.load_model(os.path.join(classifier_dir, "model.keras"), safe_mode=True)
    assert model.preprocessor is not None  # trainers.finetune's model.keras reads text
    texts = [t for t, _ in real_datasets.rotten_tomatoes()["test"][:16]] + ["Straße ²", ""]
    from_model = model.export(str(tmp_path / "from_model"))
    from_cli = export_saved_model(classifier_dir, str(tmp_path / "from_cli"))
    feeds = {"serving_default": {"text": texts}, "serve_pair": {"text_a": texts, "text_b": texts[::-1]},
             "embed": {"text": texts}, "preprocess": {"text": texts}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    got = load_in_fresh_process(from_model, feeds, tmp_path / "a")
    want = load_in_fresh_process(from_cli, feeds, tmp_path / "b")
    assert sorted(got.files) == sorted(want.files)
    for key in want.files:
        if want[key].dtype.kind == "S":
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)
        else:
            np.testing.assert_allclose(got[key], want[key], atol=1e-6, err_msg=key)
    np.testing.assert_allclose(got["tf1/serving_default/probabilities"], model.predict(texts, verbose=0), atol=1e-5)
    with open(os.path.join(from_model, "assets.extra", "bert_keras_export.json")) as f:
        metadata = json.load(f)
    assert (metadata["task"], metadata["labels"], metadata["seq_length"]) == ("classify", ["fresh", "rotten"], 32)


def test_versions_readme_and_refusals(classifier_dir, tmp_path):
    export_dir = str(tmp_path / "export")
    assert export_saved_model(classifier_dir, export_dir).endswith(os.sep + "1")
    second = export_saved_model(classifier_dir, export_dir)
    assert second.endswith(os.sep + "2")
    with pytest.raises(FileExistsError, match="already exists; TF Serving versions are immutable"):
        export_saved_model(classifier_dir, export_dir, version=1)
    assert sorted(os.listdir(export_dir)) == ["1", "2"]
    ops = custom_ops(second)
    assert "FastBertNormalize" in ops and "FastWordpieceTokenizeWithOffsets" in ops
    assert not any("Ragged" in op for op in ops)
    with open(os.path.join(second, "README.md")) as f:
        assert "`FastBertNormalize`" in f.read()
    with pytest.raises(FileNotFoundError, match="not a fine-tuned model directory"):
        export_saved_model(str(tmp_path), export_dir)


def test_unknown_task_is_refused_clearly(classifier_dir, tmp_path):
    import shutil

    d = str(tmp_path / "other")
    shutil.copytree(classifier_dir, d)
    with open(os.path.join(d, "label_map.json")) as f:
        info = json.load(f)
    info["task"] = "summarize"
    with open(os.path.join(d, "label_map.json"), "w") as f:
        json.dump(info, f)
    with pytest.raises(ValueError, match="unknown task 'summarize'; export.saved_model takes classify, regress, tag"):
        export_saved_model(d, str(tmp_path / "export"))
    assert not os.path.exists(tmp_path / "export")
    with open(os.path.join(d, "label_map.json"), "w") as f:  # a truncated file: named with its line
        f.write('{"task": "classify",\n "labels": ["a"')
    with pytest.raises(ValueError, match=r"label_map.json:2: not valid JSON .*rerun trainers.finetune"):
        export_saved_model(d, str(tmp_path / "export"))
    info.update(task="classify")
    del info["seq_length"]
    with open(os.path.join(d, "label_map.json"), "w") as f:
        json.dump(info, f)
    with pytest.raises(ValueError, match="label_map.json: no 'seq_length'"):
        export_saved_model(d, str(tmp_path / "export"))
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(NotADirectoryError, match="a_file is a file; pass a directory"):
        export_saved_model(d, str(tmp_path / "a_file"))
    for version in (0, -3, "2"):
        with pytest.raises(ValueError, match=f"version must be a positive integer .*got {version!r}"):
            export_saved_model(d, str(tmp_path / "export"), version=version)


def test_command_line_refusals_end_with_the_message_not_a_traceback(tmp_path):
    """export.predict run as a program: a refused input prints `error (...): <message>` and exits 1."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    (tmp_path / "export" / "1").mkdir(parents=True)
    (tmp_path / "export" / "10").mkdir()
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "export.predict", f"--saved_model={tmp_path / 'export'}", "--text=hi"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert re.search(r"error \(FileNotFoundError\): .*export holds no saved_model.pb; it holds versions "
                     r"\['1', '10'\]: pass one, e.g. .*export/10\.", proc.stderr), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "export.predict", f"--saved_model={tmp_path / 'export'}", "--text=hi"],
                          cwd=ROOT, env={**env, "BERT_KERAS_TRACEBACK": "1"}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_hostile_input_never_crashes_or_leaks_across_rows(classifier_export):
    import tensorflow as tf

    loaded = tf.saved_model.load(classifier_export[1])
    classify = loaded.signatures["serving_default"]
    normal = "A warm, funny film."
    hostile = [b"", b"   \t\n ", b"x" * (1 << 20), b"\xff\xfe\xc3 broken utf-8", b"\x00\x01\x1b[31m control",
               "😀🎉👍🏽".encode(), "שלום עולם مرحبا".encode(), normal.encode()]
    out = classify(text=tf.constant(hostile))
    alone = classify(text=tf.constant([normal.encode()]))
    assert out["probabilities"].shape == (len(hostile), 2)
    assert np.all(np.isfinite(out["probabilities"].numpy()))
    np.testing.assert_allclose(out["probabilities"].numpy()[-1], alone["probabilities"].numpy()[0], atol=1e-6)
    empty = classify(text=tf.constant([], tf.string))
    assert empty["probabilities"].shape == (0, 2) and empty["label"].shape == (0,)
    explain = loaded.signatures["explain"]
    why = explain(text=tf.constant(hostile))
    assert why["attributions"].shape == (len(hostile), 32) and np.all(np.isfinite(why["attributions"].numpy()))
    np.testing.assert_array_equal(why["label_id"].numpy(), out["label_id"].numpy())
    alone = explain(text=tf.constant([normal.encode()]))
    np.testing.assert_allclose(why["attributions"].numpy()[-1], alone["attributions"].numpy()[0], atol=1e-6)
    assert explain(text=tf.constant([], tf.string))["attributions"].shape == (0, 32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="is not compatible with expected shape"):
        explain(text=tf.constant([["a"], ["b"]]))
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        classify(text=tf.constant([1, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="is not compatible with expected shape"):
        classify(text=tf.constant([["a"], ["b"]]))


def test_bfloat16_export_runs_under_the_serving_loader_close_to_float32(classifier_dir, classifier_export, tmp_path):
    """--export_dtype bfloat16: matmuls in bfloat16 (mixed_bfloat16 policy) behind the same signatures; TF Serving's
    loader runs it, its answers stay close to the float32 export's, hostile strings included."""
    texts = [t for t, _ in real_datasets.rotten_tomatoes()["test"][:48]] + ["", "\x00\x01 control", "x" * 5000]
    path = export_saved_model(classifier_dir, str(tmp_path / "bf16"), export_dtype="bfloat16")
    with open(os.path.join(path, "assets.extra", "bert_keras_export.json")) as f:
        assert json.load(f)["export_dtype"] == "bfloat16"
    feeds = {"serving_default": {"text": texts}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    bf16 = load_in_fresh_process(path, feeds, tmp_path / "a")
    fp32 = load_in_fresh_process(classifier_export[1], feeds, tmp_path / "b")
    for loader in ("tf1", "tf2"):
        probs = bf16[f"{loader}/serving_default/probabilities"]
        assert probs.dtype == np.float32 and np.all(np.isfinite(probs))
        np.testing.assert_allclose(probs, fp32[f"{loader}/serving_default/probabilities"], atol=0.03)
        agreement = np.mean(bf16[f"{loader}/serving_default/label_id"] == fp32[f"{loader}/serving_default/label_id"])
        assert agreement >= 0.95, agreement
    assert not np.array_equal(bf16["tf1/serving_default/probabilities"], fp32["tf1/serving_default/probabilities"])
    with pytest.raises(ValueError, match="Unknown export_dtype 'float16'; use one of"):
        export_saved_model(classifier_dir, str(tmp_path / "fp16"), export_dtype="float16")
    import tensorflow as tf

    assert "explain" not in tf.saved_model.load(path).signatures  # explanations need float32: left out by default
    # export.verify's reference computes in the export's precision (bf16 rounding differs between Keras's eager
    # call and the exported graph by about as much as bf16 differs from float32 on this tiny model).
    from bert_keras.export.verify import verify

    report = verify(classifier_dir, path, texts=texts[:24], batch_size=8)
    for row in report["rows"]:
        assert row["max_abs_diff"] <= 2e-3 and row["argmax_agreement"] == 1.0, row
    assert report["reference_dtype_policy"] == "mixed_bfloat16"
    float32 = verify(classifier_dir, classifier_export[1], texts=texts[:24], batch_size=8)
    assert float32["reference_dtype_policy"] == "float32" and float32["rows"][2]["max_abs_diff"] <= 1e-5
    with pytest.raises(ValueError, match="explain_steps=32 needs a float32 export .* pass explain_steps=0"):
        export_saved_model(classifier_dir, str(tmp_path / "bf16x"), export_dtype="bfloat16", explain_steps=32)


def test_windowed_export_answers_long_documents_as_the_python_path(windowed_classifier, tmp_path):
    import tensorflow as tf

    model, path = windowed_classifier
    articles = [t for t, _ in real_datasets.bbc_news()["test"][:30]]
    out = load_in_fresh_process(path, {"serving_default": {"text": articles}}, tmp_path)
    _, _, counts, capped = model.preprocessor.windows(articles)
    assert counts.numpy().max() == 12 and counts.numpy().min() < 12  # some capped, some not
    np.testing.assert_array_equal(out["tf1/serving_default/windows"], counts.numpy())
    np.testing.assert_array_equal(out["tf1/serving_default/capped"], capped.numpy())
    np.testing.assert_allclose(out["tf1/serving_default/probabilities"], model.predict(articles, verbose=0), atol=1e-5)
    with open(os.path.join(path, "assets.extra", "bert_keras_export.json")) as f:
        metadata = json.load(f)
    assert (metadata["long_document"], metadata["max_windows"], metadata["window_stride"]) == ("windows", 12, 16)
    assert "explain_steps" not in metadata  # explanations read the first seq_length pieces: not for windows
    # Windows read single texts, as `predict` does: no pair signature that would silently truncate.
    signatures = tf.saved_model.load(path).signatures
    assert "serve_pair" not in signatures and "serving_default" in signatures
    with open(os.path.join(path, "README.md")) as f:
        assert "serve_pair" not in f.read()


def test_windowed_export_caps_a_1mb_document_and_says_so(windowed_classifier):
    import tensorflow as tf

    from bert_keras.export.tflite import convert

    model, path = windowed_classifier
    classify = tf.saved_model.load(path).signatures["serving_default"]
    huge = ("The market rallied as the minister spoke. " * 25_000).encode()
    assert len(huge) > 1_000_000
    out = classify(text=tf.constant([huge, b"", "Short.".encode()]))
    assert out["windows"].numpy().tolist() == [12, 1, 1] and out["capped"].numpy().tolist() == [True, False, False]
    assert np.all(np.isfinite(out["probabilities"].numpy()))
    with pytest.raises(ValueError, match="reads long texts in windows .* convert with --inputs=ids"):
        convert(path, os.path.join(os.path.dirname(path), "m.tflite"))


def test_head_tail_export_reads_what_predict_reads(minilm_tokenizer, tmp_path):
    import tensorflow as tf

    from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor

    keras.utils.set_random_seed(10)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    model = BertClassifier(encoder, num_classes=2, preprocessor=BertTextPreprocessor(
        minilm_tokenizer, seq_length=34, long_document="head_tail", head_tokens=8))
    articles = [t for t, _ in real_datasets.bbc_news()["test"][:8]] + ["Short."]
    path = model.export(str(tmp_path / "export"))
    signatures = tf.saved_model.load(path).signatures
    assert "serve_pair" not in signatures  # head + tail reads single texts; a pair would be silently truncated
    out = signatures["serving_default"](text=tf.constant(articles))
    assert "windows" not in out
    np.testing.assert_allclose(out["probabilities"].numpy(), model.predict(articles, verbose=0), atol=1e-5)
    truncated = keras.ops.softmax(model(minilm_tokenizer(articles, seq_length=34))).numpy()
    assert np.abs(truncated - out["probabilities"].numpy()).max() > 1e-4  # the tails were read, not the first pieces
