"""The benchmark runs end to end and writes valid results (tiny sizes; no timing is asserted)."""

import json
import os

import pytest

from benchmarks import models, run

MODES = {"ceiling", "train", "infer", "serve", "tokenize", "train_real", "infer_real", "memory", "explain_ig"}
IMPLS = {"hardware", "bert_keras", "keras_hub", "hf_tokenizers", "hf_torch", "model_garden", "captum"}


def test_smoke_run_writes_results(tmp_path, capsys):
    run.main(["--smoke", "--runs", "1", "--out", str(tmp_path)])
    records = json.loads((tmp_path / "results.json").read_text())
    assert os.path.getsize(tmp_path / "results.png") > 0
    for r in records:
        assert {"name", "impl", "config", "mode", "seq_per_s", "mfu"} <= set(r), r
        assert r["mode"] in MODES and r["impl"] in IMPLS, r
        assert "error" not in r, r
    measured = {(r["mode"], r["impl"]) for r in records if r["seq_per_s"]}
    assert {("train", "bert_keras"), ("train", "keras_hub"), ("infer", "bert_keras"), ("infer", "keras_hub"),
            ("serve", "bert_keras"), ("tokenize", "bert_keras"), ("tokenize", "keras_hub"),
            ("tokenize", "hf_tokenizers")} <= measured
    assert all(0 < r["mfu"] for r in records if r["mode"] in ("train", "infer") and r["mfu"] is not None)
    real = [r for r in records if r["mode"] in ("train_real", "infer_real")]
    assert {(r["mode"], r["impl"]) for r in real} == {(m, i) for m in ("train_real", "infer_real")
                                                       for i in ("bert_keras", "keras_hub")}
    padding = {(r["mode"], r["impl"]): r["padding_fraction"] for r in real}
    for r in real:
        assert r["seq_per_s"] > 0 and r["real_tokens_per_s"] > 0 and r["examples"] in (64, 128), r
        # keras-hub pads every row to the sequence length; ours pads each batch to its longest row.
        assert 0 <= padding[r["mode"], "bert_keras"] < padding[r["mode"], "keras_hub"], padding
    # Both precisions run, tagged (the smoke profile always, on the synthetic rows; the larger profiles add bf16
    # rows everywhere when the CPU has native bf16).
    for mode in ("train", "infer", "train_real", "infer_real"):
        rows = [r for r in records if r["mode"] == mode and r["impl"] == "bert_keras"
                and not r["name"].startswith("pretrain")]
        expected = ["float32", "mixed_bfloat16"] if mode in ("train", "infer") else ["float32"]
        assert sorted(r["precision"] for r in rows) == expected, rows
        assert all(isinstance(r["cpu_bf16"], bool) for r in rows)
    memory = {r["setting"]: r for r in records if r["mode"] == "memory"}
    assert set(memory) == {s for s, *_ in run.MEMORY_VARIANTS}
    assert all(r["peak_rss_mb"] > 100 and r["seq_per_s"] > 0 for r in memory.values()), memory
    assert memory["float32, batch 32"]["trainable_share"] == 1.0
    assert 0 < memory["LoRA rank 8, batch 32"]["trainable_share"] < 0.1
    assert memory["accumulation 4 x 8"]["batch"] == 8 and memory["accumulation 4 x 8"]["accumulation"] == 4
    [explain] = [r for r in records if r["mode"] == "explain_ig" and r["impl"] == "bert_keras"]
    assert explain["ms_per_review"] > 0 and explain["seq_per_s"] > 0, explain
    assert (explain["steps"], explain["examples"]) == (8, 2) and 0 <= explain["completeness_error"] < 1, explain
    pretrain = [r for r in records if r["name"].startswith("pretrain")]
    assert len(pretrain) == 2 and all(0 <= r["padding_fraction"] < 1 for r in pretrain)
    [ceiling] = [r for r in records if r["mode"] == "ceiling"]
    assert ceiling["gflops_end"] > 0
    assert ceiling.get("warning") == run.ceiling_warning(ceiling["gflops"], ceiling["gflops_end"])
    table = capsys.readouterr().out
    assert "keras_hub" in table and "ceiling" in table and "bf16" in table and "peak RSS" in table
    assert "ms/review" in table


def test_flops_formula_counts_base_as_published():
    # BERT-Base without embeddings: 85.0M weights in the 12 blocks (+0.6M pooler); 6 N S + 12 L S^2 H.
    n = models.non_embedding_params("base")
    assert 85.5e6 < n < 85.8e6
    assert models.flops_per_sequence("base", 128, training=True) == 6 * n * 128 + 12 * 12 * 128 ** 2 * 768
    assert models.flops_per_sequence("base", 128, training=False) * 3 == \
        models.flops_per_sequence("base", 128, training=True)


def test_a_ceiling_that_moves_during_the_run_is_flagged():
    # The 2026-12-04 run: 242.3 GFLOP/s at its start (another job beside it), 465 alone.
    warning = run.ceiling_warning(242.3, 465.0)
    assert "moved from 242.3 to 465.0 GFLOP/s (48%)" in warning and "rerun" in warning
    assert run.ceiling_warning(465.0, 420.0) is None  # 10%: this VM's ordinary drift
    assert run.table([{"name": "fp32 matmul 4096", "mode": "ceiling", "gflops": 242.3, "gflops_tensorflow": 242.3,
                       "gflops_numpy": 114.5, "gflops_end": 465.0, "warning": warning}]).count("moved from") == 1


def test_rounds_report_the_median_round_and_keep_every_round():
    parts = [{"seq_per_s": s, "real_tokens_per_s": s / 100, "padding_fraction": 0.1} for s in (700.0, 900.0, 800.0)]
    result = run.median_round(parts)
    assert result["seq_per_s"] == 800.0 and result["real_tokens_per_s"] == 8.0  # one round's figures, together
    assert result["seq_per_s_rounds"] == [700.0, 900.0, 800.0]
    assert (result["seq_per_s_min"], result["seq_per_s_max"], result["runs"]) == (700.0, 900.0, 3)
    assert run.median_round(parts[:2])["seq_per_s"] == 700.0  # an even count: the lower middle, not a mean
    failed = {"error": "exit 1"}
    assert run.median_round([parts[0], failed, parts[2]]) is failed  # a failed round is reported, not hidden
    record = run._real_record("infer_real minilm", "bert_keras", "infer_real", result, "defaults",
                              {"batch": 64, "seq": 128, "examples": 4096, "precision": "mixed_bfloat16"}, True)
    assert record["seq_per_s_rounds"] == [700.0, 900.0, 800.0] and record["seq_per_s"] == 800.0


def test_parts_measure_only_what_is_asked(tmp_path, capsys):
    run.main(["--smoke", "--runs", "1", "--out", str(tmp_path), "--parts", "tokenize, pretrain"])
    records = json.loads((tmp_path / "results.json").read_text())
    assert {r["mode"] for r in records} == {"ceiling", "tokenize", "train"}  # pretraining rows are mode "train"
    assert all(r["name"].startswith(("fp32 matmul", "tokenize", "pretrain")) for r in records), records
    assert json.loads((tmp_path / "meta.json").read_text())["parts"] == ["tokenize", "pretrain"]
    for bad, why in (("tokenise", "unknown ['tokenise']; choose from speed,real_text,"), (",", "unknown empty")):
        with pytest.raises(SystemExit):
            run.main(["--smoke", "--out", str(tmp_path), "--parts", bad])
        assert why in capsys.readouterr().err
