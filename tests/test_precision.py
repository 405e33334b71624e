"""precision="auto": what it reads from the CPU, the environment override, and where it reaches the models."""

import numpy as np
import pytest

from bert_keras import precision
from bert_keras.precision import cpu_bf16_flags, resolve_precision


def _cpuinfo(tmp_path, text):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return str(path)


def test_cpu_flags_are_read_for_x86_and_arm(tmp_path):
    sapphire = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
    assert cpu_bf16_flags(_cpuinfo(tmp_path, sapphire)) == ["amx_bf16", "avx512_bf16"]
    assert cpu_bf16_flags(_cpuinfo(tmp_path, "flags\t: fpu sse2 avx2 fma avx512f avx512_vnni\n")) == []
    assert cpu_bf16_flags(_cpuinfo(tmp_path, "Features\t: fp asimd bf16 i8mm sve\n")) == ["bf16"]
    assert cpu_bf16_flags(str(tmp_path / "missing")) == []


def test_explicit_precisions_win_and_unknown_ones_are_named():
    for name in ("float32", "mixed_bfloat16", "mixed_float16"):
        assert resolve_precision(name) == name
    with pytest.raises(ValueError, match="Unknown precision 'bf16'; use one of"):
        resolve_precision("bf16")


def test_auto_follows_this_cpu_and_the_environment(monkeypatch):
    monkeypatch.delenv(precision.ENV_VAR, raising=False)
    precision._auto.cache_clear()
    try:
        import tensorflow as tf

        native = bool(cpu_bf16_flags()) or any(  # GPUs from compute capability 8.0 (Ampere)
            (tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0)) >= (8, 0)
            for gpu in tf.config.list_physical_devices("GPU"))
        assert resolve_precision("auto") == ("mixed_bfloat16" if native else "float32")
        precision._auto.cache_clear()
        monkeypatch.setenv(precision.ENV_VAR, "mixed_float16")
        assert resolve_precision("auto") == "mixed_float16"
        precision._auto.cache_clear()
        monkeypatch.setenv(precision.ENV_VAR, "bfloat16")
        with pytest.raises(ValueError, match="BERT_KERAS_PRECISION='bfloat16'; set it to one of"):
            resolve_precision("auto")
    finally:
        precision._auto.cache_clear()


def test_from_pretrained_computes_in_the_asked_precision(minilm_dir):
    from bert_keras import BertClassifier

    model = BertClassifier.from_pretrained(minilm_dir, num_classes=2, seq_length=32, precision="mixed_bfloat16")
    assert model.encoder.embeddings.dtype_policy.name == "mixed_bfloat16"
    assert model.encoder.transformer_blocks[0].attention.query_key_value.compute_dtype == "bfloat16"
    probs = model.predict(["a warm and funny film", "dull"], verbose=0)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    # The head's logits stay float32 under the policy.
    assert model.get_layer("logits").compute_dtype == "float32"
    with pytest.raises(ValueError, match="Pass precision= .* instead of dtype="):
        BertClassifier.from_pretrained(minilm_dir, num_classes=2, dtype="float32")
    with pytest.raises(ValueError, match="Unknown precision 'half'"):
        BertClassifier.from_pretrained(minilm_dir, num_classes=2, precision="half")


def test_under_mixed_bfloat16_softmax_logits_and_loss_stay_float32():
    """The matmuls run in bfloat16; the attention softmax, the head's logits and the loss in float32 (LayerNorm
    computes in float32 inside `keras.ops.layer_normalization` and hands bfloat16 on)."""
    import keras

    from bert_keras import BertClassifier
    from tests.helpers import random_features, tiny_encoder

    encoder = tiny_encoder(dtype="mixed_bfloat16", output_attention_probs=True)
    outputs = encoder(random_features())
    assert outputs["sequence_output"].dtype == "bfloat16"
    assert all(p.dtype == "float32" for p in outputs["attention_probs"])
    model = BertClassifier(tiny_encoder(dtype="mixed_bfloat16"), num_classes=2)
    logits = model(random_features())
    assert logits.dtype == "float32"
    loss = model.default_loss()(np.array([0, 1]), logits)
    assert loss.dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"  # nothing leaked into the global policy
