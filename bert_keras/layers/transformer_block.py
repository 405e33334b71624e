"""One post-LayerNorm BERT transformer block: self-attention and a GELU feed-forward network.

keras-hub's `TransformerEncoder` is close (0.32 returns attention scores with `return_attention_scores`), but it
projects Q/K/V separately and cannot run its last block for the [CLS] row alone (see `MultiHeadSelfAttention`
and `first_token_only` for why those matter); the rest (two residual + LayerNorm sub-layers) is plain Keras.
"""

import keras

from bert_keras.configs import SUPPORTED_ACTIVATIONS
from bert_keras.layers.fused_dense import FusedDense
from bert_keras.layers.multi_head_self_attention import MultiHeadSelfAttention
from bert_keras.layers.packed_random_dropout import PackedRandomDropout


@keras.saving.register_keras_serializable(package="bert_keras")
def gelu_approximate(x):
    """GELU in its tanh form (Google's `modeling.py`, Hugging Face's `gelu_new`)."""
    return keras.activations.gelu(x, approximate=True)


def get_activation(name):
    """Maps `gelu` (exact erf), `gelu_approximate` (tanh form) and `relu` to serializable Keras activations."""
    if name == "gelu":
        return keras.activations.gelu  # approximate=False by default: the exact erf form
    if name == "gelu_approximate":
        return gelu_approximate
    if name == "relu":
        return keras.activations.relu
    raise ValueError(f"Unknown activation {name!r}; use one of {list(SUPPORTED_ACTIVATIONS)}.")


@keras.saving.register_keras_serializable(package="bert_keras")
class TransformerBlock(keras.layers.Layer):
    """x = LN(x + Dropout(Attention(x))); x = LN(x + Dropout(W2 act(W1 x))), as in BERT.

    Args:
        hidden_dim: model width.
        num_heads: attention heads; must divide `hidden_dim`.
        intermediate_dim: width of the feed-forward layer.
        dropout: dropout after the attention and feed-forward outputs.
        attention_dropout: dropout on attention probabilities.
        layer_norm_epsilon: LayerNorm epsilon.
        initializer_range: stddev of the truncated-normal initializer.
        activation: `gelu` (exact, BERT's), `gelu_approximate` or `relu`.

    Example:
    >>> import numpy as np
    >>> block = TransformerBlock(hidden_dim=8, num_heads=2, intermediate_dim=32)
    >>> tuple(block(np.ones((2, 5, 8), "float32"), np.ones((2, 5), "int32")).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        hidden_dim,
        num_heads,
        intermediate_dim,
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        activation="gelu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.activation = activation
        init = keras.initializers.TruncatedNormal(stddev=initializer_range)
        policy = self.dtype_policy
        self.attention = MultiHeadSelfAttention(
            hidden_dim, num_heads, attention_dropout, initializer_range, dtype=policy, name="attention")
        self.attention_dropout_layer = PackedRandomDropout(dropout, dtype=policy, name="attention_output_dropout")
        self.attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="attention_layer_norm")
        # The activation belongs to the dense layer so that TensorFlow fuses matmul, bias and GELU (FusedDense).
        self.intermediate_dense = FusedDense(intermediate_dim, activation=get_activation(activation),
                                             kernel_initializer=init, dtype=policy, name="intermediate_dense")
        self.output_dense = FusedDense(hidden_dim, kernel_initializer=init, dtype=policy, name="output_dense")
        self.output_dropout = PackedRandomDropout(dropout, dtype=policy, name="output_dropout")
        self.output_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="output_layer_norm")

    def build(self, x_shape, padding_mask_shape=None):
        if x_shape[-1] != self.hidden_dim:
            raise ValueError(
                f"TransformerBlock expects inputs of width hidden_dim={self.hidden_dim}, got shape {x_shape}.")
        self.attention.build(x_shape)
        self.attention_layer_norm.build(x_shape)
        self.intermediate_dense.build(x_shape)
        self.output_dense.build(tuple(x_shape[:-1]) + (self.intermediate_dim,))
        self.output_layer_norm.build(x_shape)
        self.built = True

    def call(self, x, padding_mask, training=None, return_attention_probs=False, first_token_only=False):
        """Args as the layer's; `first_token_only` computes the first position alone ([batch, 1, hidden_dim]):
        keys and values still come from every token, so that position's output is unchanged."""
        attended = self.attention(x, padding_mask, training=training, return_attention_probs=return_attention_probs,
                                  first_token_only=first_token_only)
        if return_attention_probs:
            attended, probs = attended
        if first_token_only:
            x = x[:, :1]
        x = self.attention_layer_norm(x + self.attention_dropout_layer(attended, training=training))
        h = self.intermediate_dense(x)
        x = self.output_layer_norm(x + self.output_dropout(self.output_dense(h), training=training))
        if return_attention_probs:
            return x, probs
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim,
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            initializer_range=self.initializer_range,
            activation=self.activation,
        )
        return config
