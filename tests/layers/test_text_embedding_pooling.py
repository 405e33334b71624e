import numpy as np

from bert_keras.layers import TextEmbeddingPooling


def test_mean_ignores_padding_and_normalizes_in_float32():
    rng = np.random.default_rng(0)
    sequence = rng.normal(size=(3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], "int32")
    mean = TextEmbeddingPooling("mean", normalize=False)(sequence, mask).numpy()
    expected = np.stack([sequence[i, :mask[i].sum()].mean(0) for i in range(3)])
    np.testing.assert_allclose(mean, expected, atol=1e-6)
    unit = TextEmbeddingPooling()(sequence.astype("float16"), mask)
    assert unit.dtype == "float32"
    np.testing.assert_allclose(unit.numpy(), expected / np.linalg.norm(expected, axis=-1, keepdims=True), atol=2e-3)
    np.testing.assert_allclose(TextEmbeddingPooling("cls", False)(sequence, mask).numpy(), sequence[:, 0])
