"""The models the benchmark times: this package's classifier and keras-hub's, built from the same config.

keras-hub is built from `BertBackbone` arguments (no preset: presets download), with its own
`BertTextClassifier` head (dropout + Dense on the pooled output, as ours). Both get the same synthetic ids.
"""

import numpy as np

from bert_keras import configs

IMPLS = ("bert_keras", "keras_hub")
VOCAB_SIZE = 30522


def encoder_config(name):
    """The named size's encoder arguments (BERT's uncased vocab, 512 positions)."""
    return configs.named_config(name, vocab_size=VOCAB_SIZE)


def non_embedding_params(name, num_classes=2):
    """Weights that take part in matmuls per token: the blocks, the pooler and the classifier head."""
    c = encoder_config(name)
    h, i, layers = c["hidden_dim"], c["intermediate_dim"], c["num_layers"]
    per_block = (4 * h * h + 4 * h) + (h * i + i) + (i * h + h) + 4 * h  # attention, FFN, two LayerNorms
    return layers * per_block + (h * h + h) + (h * num_classes + num_classes)


def flops_per_sequence(name, seq_length, training, num_classes=2):
    """FLOPs of one sequence: 2 x non-embedding params x tokens + the attention matmuls, x3 when training.

    Forward: every weight is one multiply-add per token (2 FLOPs), plus Q.K^T and probs.V, each
    seq x seq x hidden multiply-adds per layer (4 x layers x seq^2 x hidden). Training adds the backward
    pass, twice the forward: 6 x N x S + 12 x L x S^2 x H.
    """
    c = encoder_config(name)
    forward = 2 * non_embedding_params(name, num_classes) * seq_length \
        + 4 * c["num_layers"] * seq_length ** 2 * c["hidden_dim"]
    return 3 * forward if training else forward


def build(impl, name, num_classes=2, dropout=None, full_last_block=False):
    """A classifier of the named size; returns (model, function mapping our feature dict to its inputs).

    For experiments: `dropout` overrides the config's dropout (all of them; None keeps BERT's 0.1), and
    `full_last_block=True` puts our head on the encoder's full output instead of `BertClassifier`'s
    [CLS]-only last block (the same logits, computed the long way).
    """
    c = encoder_config(name)
    if dropout is not None:
        c.update(dropout=dropout, attention_dropout=dropout)
    if impl == "bert_keras":
        import keras
        from bert_keras import BertClassifier, BertEncoder
        model = BertClassifier(BertEncoder(**c), num_classes=num_classes, dropout=c["dropout"])
        if full_last_block:
            from bert_keras.models.encoder_task import encoder_inputs
            inputs = encoder_inputs()
            pooled = model.encoder(inputs)["pooled_output"]
            model = keras.Model(inputs, model.get_layer("logits")(model.get_layer("dropout")(pooled)))
        return model, lambda features: features
    if impl == "keras_hub":
        import keras_hub
        backbone = keras_hub.models.BertBackbone(
            vocabulary_size=c["vocab_size"], num_layers=c["num_layers"], num_heads=c["num_heads"],
            hidden_dim=c["hidden_dim"], intermediate_dim=c["intermediate_dim"], dropout=c["dropout"],
            max_sequence_length=c["max_sequence_length"], num_segments=c["type_vocab_size"])
        model = keras_hub.models.BertTextClassifier(backbone, num_classes=num_classes, preprocessor=None,
                                                    dropout=c["dropout"])
        return model, lambda f: {"token_ids": f["input_word_ids"], "segment_ids": f["input_type_ids"],
                                 "padding_mask": f["input_mask"]}
    raise ValueError(f"Unknown impl {impl!r}; use one of {IMPLS}.")


def synthetic_batch(batch_size, seq_length, seed=0, vocab_size=VOCAB_SIZE):
    """Random ids over the vocab, two segments, no padding (full-length rows: the worst case, no padding to skip)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, vocab_size, size=(batch_size, seq_length)).astype("int32")
    types = np.zeros_like(ids)
    types[:, seq_length // 2:] = 1
    features = {"input_word_ids": ids, "input_mask": np.ones_like(ids), "input_type_ids": types}
    labels = rng.integers(0, 2, size=(batch_size,)).astype("int32")
    return features, labels
