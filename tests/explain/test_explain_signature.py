import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor
from bert_keras.explain import integrated_gradients
from bert_keras.explain.explain_signature import explain_function


@pytest.mark.parametrize("num_classes", [2, 1])
def test_graph_function_equals_the_python_api(minilm_tokenizer, num_classes):
    keras.utils.set_random_seed(6)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    labels = ["rotten", "fresh"] if num_classes == 2 else None
    model = BertClassifier(encoder, num_classes=num_classes, labels=labels,
                           preprocessor=BertTextPreprocessor(minilm_tokenizer, seq_length=24))
    texts = ["A gorgeous, witty film.", "北京 café ²", "", "word " * 40]
    explain = tf.function(explain_function(model, minilm_tokenizer, 24, steps=16, labels=labels))
    out = {k: v.numpy() for k, v in explain(tf.constant(texts)).items()}
    for i, e in enumerate(integrated_gradients(model, texts, steps=16)):
        n = out["num_tokens"][i]
        assert [t.decode() for t in out["tokens"][i, :n]] == e.tokens and n <= 24
        assert out["token_start"][i, :n].tolist() == e.token_start
        np.testing.assert_allclose(out["attributions"][i, :n], e.attributions, atol=1e-6)
        assert out["target_score"][i] == pytest.approx(e.target_score, abs=1e-6)
        assert out["baseline_score"][i] == pytest.approx(e.baseline_score, abs=1e-6)
        assert out["label"][i].decode() == (e.label if labels else "") and (labels or e.label is None)
        assert out["token_end"][i, :n].tolist() == e.token_end
    with pytest.raises(ValueError, match="explain steps must be a positive int, got 0"):
        explain_function(model, minilm_tokenizer, 24, steps=0)
