"""`BertEncoder`: the BERT encoder as a Keras functional model with TF Hub input/output names.

Built from this package's layers (see each layer's module for why they are not keras-hub's). Inputs and
outputs follow the TF Hub BERT SavedModels, so code written against those carries over:
`input_word_ids`, `input_mask`, `input_type_ids` -> `sequence_output`, `pooled_output`, and on request
`encoder_outputs` (every block's output) and `attention_probs` (every block's attention probabilities).
"""

import logging

import keras

from bert_keras import configs
from bert_keras.layers.bert_embeddings import BertEmbeddings
from bert_keras.layers.bert_pooler import BertPooler
from bert_keras.layers.transformer_block import TransformerBlock

logger = logging.getLogger(__name__)

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bert_keras")
class BertEncoder(keras.Model):
    """The BERT encoder: embeddings, `num_layers` post-LN transformer blocks and the tanh pooler.

    Args:
        vocab_size: number of WordPiece ids.
        hidden_dim: model width (768 for BERT-Base).
        num_layers: number of transformer blocks.
        num_heads: attention heads; must divide `hidden_dim`.
        intermediate_dim: feed-forward width (4 * hidden_dim in BERT).
        max_sequence_length: rows of the position table, the longest input accepted.
        type_vocab_size: number of segment ids.
        dropout: dropout on embeddings and block outputs.
        attention_dropout: dropout on attention probabilities.
        layer_norm_epsilon: LayerNorm epsilon.
        initializer_range: stddev of the truncated-normal initializer.
        activation: feed-forward activation, `gelu` (exact erf, BERT's), `gelu_approximate` or `relu`.
        output_encoder_outputs: also output `encoder_outputs`, the list of every block's output.
        output_attention_probs: also output `attention_probs`, the list of every block's
            [batch, heads, seq, seq] attention probabilities.

    Inputs: a dict of int32 [batch, seq] tensors `input_word_ids`, `input_mask` (1 = real token) and
    `input_type_ids` (segment ids), as `BertTokenizer` returns them.

    Example:
    >>> import numpy as np
    >>> encoder = BertEncoder.from_config_name("tiny", vocab_size=100)
    >>> features = {name: np.ones((2, 16), "int32") for name in INPUT_NAMES}
    >>> outputs = encoder(features)
    >>> tuple(outputs["sequence_output"].shape), tuple(outputs["pooled_output"].shape)
    ((2, 16, 128), (2, 128))
    """

    def __init__(
        self,
        vocab_size,
        hidden_dim,
        num_layers,
        num_heads,
        intermediate_dim,
        max_sequence_length=512,
        type_vocab_size=2,
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        activation="gelu",
        output_encoder_outputs=False,
        output_attention_probs=False,
        dtype=None,
        **kwargs,
    ):
        for arg, value in [("vocab_size", vocab_size), ("hidden_dim", hidden_dim), ("num_layers", num_layers),
                           ("num_heads", num_heads), ("intermediate_dim", intermediate_dim),
                           ("max_sequence_length", max_sequence_length), ("type_vocab_size", type_vocab_size)]:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"BertEncoder: {arg} must be a positive integer, got {value!r}.")
        if hidden_dim % num_heads:
            raise ValueError(
                f"BertEncoder: hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}. Use a "
                f"num_heads that divides hidden_dim (BERT uses hidden_dim / 64 = {max(1, hidden_dim // 64)}).")
        for arg, value in [("dropout", dropout), ("attention_dropout", attention_dropout)]:
            if not 0.0 <= value < 1.0:
                raise ValueError(f"BertEncoder: {arg} must be in [0, 1), got {value!r}.")
        if activation not in configs.SUPPORTED_ACTIVATIONS:
            raise ValueError(
                f"BertEncoder: activation {activation!r} is not supported; use one of "
                f"{list(configs.SUPPORTED_ACTIVATIONS)}.")

        # === Layers ===
        embeddings = BertEmbeddings(
            vocab_size, hidden_dim, max_sequence_length, type_vocab_size, dropout, layer_norm_epsilon,
            initializer_range, dtype=dtype, name="embeddings")
        blocks = [
            TransformerBlock(hidden_dim, num_heads, intermediate_dim, dropout, attention_dropout,
                             layer_norm_epsilon, initializer_range, activation, dtype=dtype,
                             name=f"transformer_block_{i}")
            for i in range(num_layers)
        ]
        pooler = BertPooler(hidden_dim, initializer_range, dtype=dtype, name="pooler")

        # === Functional model ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}
        x = embeddings(inputs["input_word_ids"], inputs["input_type_ids"])
        block_outputs, probs = [], []
        for block in blocks:
            x = block(x, inputs["input_mask"], return_attention_probs=output_attention_probs)
            if output_attention_probs:
                x, p = x
                probs.append(p)
            block_outputs.append(x)
        outputs = {"sequence_output": x, "pooled_output": pooler(x)}
        if output_encoder_outputs:
            outputs["encoder_outputs"] = block_outputs
        if output_attention_probs:
            outputs["attention_probs"] = probs
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        self.embeddings = embeddings
        self.transformer_blocks = blocks
        self.pooler = pooler
        # === Config ===
        self.vocab_size = vocab_size
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.max_sequence_length = max_sequence_length
        self.type_vocab_size = type_vocab_size
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.activation = activation
        self.output_encoder_outputs = output_encoder_outputs
        self.output_attention_probs = output_attention_probs

    def pooled_output_from(self, inputs, word_vectors=None):
        """`pooled_output` for symbolic `inputs`, built from this encoder's layers with the last block run for
        the first position only (keys and values from every token), so heads on the pooled output skip the
        rest of the last block's work (about 20% of `small`, 7% of `base`) with the same result.

        Used by `BertClassifier`; the layers (and so the weights) are this encoder's own. `word_vectors`: as
        `run_layers`.
        """
        sequence, _ = self.run_layers(inputs, word_vectors=word_vectors, last_block_first_token_only=True)
        return self.pooler(sequence)

    def run_layers(self, inputs, word_vectors=None, attention_probs=False, last_block_first_token_only=False,
                   training=None):
        """The encoder's layers called one by one: (last block's output, list of every block's attention
        probabilities [batch, heads, seq, seq] or None).

        Args:
            inputs: the features dict (`input_word_ids` is read only when `word_vectors` is None).
            word_vectors: optional [batch, seq, hidden] values that replace the word-embedding lookup's
                output (what `bert_keras.explain` interpolates and differentiates).
            attention_probs: also return every block's attention probabilities.
            last_block_first_token_only: the last block computes position 0 only (see `pooled_output_from`).
            training: dropout on or off (None: Keras's learning phase, as in a functional model).
        """
        x = self._embed(inputs, word_vectors, training)
        probs = []
        for i, block in enumerate(self.transformer_blocks):
            first_only = last_block_first_token_only and i == len(self.transformer_blocks) - 1
            x = block(x, inputs["input_mask"], training=training, first_token_only=first_only,
                      return_attention_probs=attention_probs)
            if attention_probs:
                x, p = x
                probs.append(p)
        return x, (probs if attention_probs else None)

    def layer_outputs(self, inputs, training=None):
        """Every layer's output at every position, for losses on them (`bert_keras.distillation`): (hidden states
        [embeddings output, block 1 .. block N outputs], each [batch, seq, hidden]; every block's attention
        probabilities [batch, heads, seq, seq]). Same layers and weights as `run_layers`."""
        x = self._embed(inputs, None, training)
        hidden, probs = [x], []
        for block in self.transformer_blocks:
            x, p = block(x, inputs["input_mask"], training=training, return_attention_probs=True)
            hidden.append(x)
            probs.append(p)
        return hidden, probs

    def _embed(self, inputs, word_vectors, training):
        if word_vectors is None:
            return self.embeddings(inputs["input_word_ids"], inputs["input_type_ids"], training=training)
        return self.embeddings.from_word_vectors(word_vectors, inputs["input_type_ids"], training=training)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            # The layers' policy: a functional model's own `dtype_policy` does not survive deserialization.
            "dtype": keras.saving.serialize_keras_object(self.embeddings.dtype_policy),
            **self.encoder_config(),
            "output_encoder_outputs": self.output_encoder_outputs,
            "output_attention_probs": self.output_attention_probs,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)

    def encoder_config(self):
        """The architecture arguments alone (what a checkpoint's config file records)."""
        return {
            "vocab_size": self.vocab_size,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "max_sequence_length": self.max_sequence_length,
            "type_vocab_size": self.type_vocab_size,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
            "activation": self.activation,
        }

    @classmethod
    def from_config_name(cls, name, vocab_size=30522, **kwargs):
        """A randomly initialised encoder of a named size (`tiny` .. `large`, see `bert_keras.configs`).

        Keyword arguments that are not sizes (`output_encoder_outputs`, `dtype`, `name`) pass through.
        """
        size_keys = set(configs.named_config("tiny"))
        sizes = {k: v for k, v in kwargs.items() if k in size_keys}
        rest = {k: v for k, v in kwargs.items() if k not in size_keys}
        return cls(**configs.named_config(name, vocab_size=vocab_size, **sizes), **rest)

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        """Builds the encoder from a checkpoint directory and loads its weights.

        Args:
            path: a Hugging Face BERT directory (`config.json` + `model.safetensors`, sharded safetensors or
                `pytorch_model.bin`) or a Google BERT directory (`bert_config.json` + `bert_model.ckpt.*`),
                or the checkpoint prefix inside one.
            **kwargs: `BertEncoder` arguments that override the checkpoint's config and do not change weight
                shapes: `dropout`, `attention_dropout`, `activation`, `output_encoder_outputs`,
                `output_attention_probs`, `dtype`, `name`.

        Raises:
            FileNotFoundError: the path holds no checkpoint in a known layout.
            ValueError: another architecture, a missing tensor or a shape mismatch (named with both shapes).
        """
        from bert_keras.checkpoints import load_checkpoint, assign_encoder_weights

        allowed = {"dropout", "attention_dropout", "activation", "output_encoder_outputs",
                   "output_attention_probs", "dtype", "name"}
        bad = set(kwargs) - allowed
        if bad:
            raise ValueError(
                f"from_pretrained: {sorted(bad)} cannot be overridden (they fix weight shapes or come from the "
                f"checkpoint); allowed overrides: {sorted(allowed)}.")
        checkpoint = load_checkpoint(path)
        encoder = cls(**{**checkpoint.encoder_config, **kwargs})
        assign_encoder_weights(encoder, checkpoint)
        return encoder
