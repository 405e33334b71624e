"""NextSentenceHead: a 2-way classifier on the pooled output."""

import numpy as np
import pytest

from bert_keras.layers import NextSentenceHead


def test_logits_and_config():
    head = NextSentenceHead(hidden_dim=4, initializer_range=0.5)
    pooled = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_allclose(head(pooled), pooled @ head.dense.kernel.numpy() + head.dense.bias.numpy(), rtol=1e-6)
    assert NextSentenceHead.from_config(head.get_config()).hidden_dim == 4
    with pytest.raises(ValueError, match=r"\[batch, 4\]"):
        NextSentenceHead(hidden_dim=4)(np.zeros((2, 3), "float32"))
