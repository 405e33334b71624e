"""`BertTokenClassifier`: one label per word (NER, POS), predicted on each word's first WordPiece.

keras-hub has no token-tagging task. Alignment of word labels to WordPieces is `bert_keras.text.word_features`
(labels on first pieces, -1 elsewhere, ignored by the loss); `word_tags_to_entities` turns predicted BIO
tags back into entity spans with character offsets in the original text.
"""

import keras

from bert_keras.metrics.tagging import bio_spans
from bert_keras.models.bert_encoder import INPUT_NAMES  # noqa: F401  (used by the docstring example, run by make test)
from bert_keras.models.encoder_task import EncoderTask, encoder_inputs

IGNORE_LABEL = -1


@keras.saving.register_keras_serializable(package="bert_keras")
class BertTokenClassifier(EncoderTask):
    """Dropout + Dense over `sequence_output`: logits [batch, seq, num_labels].

    Args:
        encoder: a `BertEncoder`.
        num_labels: number of tags (e.g. 21 for BIO over 10 entity types).
        dropout: dropout rate on the sequence output.

    Example:
    >>> import numpy as np
    >>> from bert_keras import BertEncoder
    >>> model = BertTokenClassifier(BertEncoder.from_config_name("tiny", vocab_size=100), num_labels=5)
    >>> tuple(model({name: np.ones((2, 8), "int32") for name in INPUT_NAMES}).shape)
    (2, 8, 5)
    """

    def __init__(self, encoder, num_labels, dropout=0.1, **kwargs):
        if not isinstance(num_labels, int) or num_labels < 2:
            raise ValueError(f"num_labels must be an int >= 2, got {num_labels!r}.")
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        sequence = keras.layers.Dropout(dropout, name="dropout")(sequence)
        logits = keras.layers.Dense(
            num_labels, name="logits", dtype="float32",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=encoder.initializer_range))(sequence)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.encoder = encoder
        self.num_labels = num_labels
        self.dropout = dropout

    def default_loss(self):
        """Cross-entropy over first WordPieces; positions labelled -1 (other pieces, specials, padding) are ignored."""
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)

    task = "tag"

    def serving_outputs(self, outputs):
        """The raw outputs under the export's name: `{"logits"}` [batch, seq, num_labels]."""
        return {"logits": outputs}

    def task_config(self):
        return {"num_labels": self.num_labels, "dropout": self.dropout}


def word_tags_to_entities(words, tags, text=None, word_starts=None):
    """Entity spans from per-word BIO tags, with character offsets.

    Args:
        words: the words of one sentence.
        tags: one BIO tag per word.
        text: the original text; default: the words joined by single spaces.
        word_starts: character offset of each word in `text` (required when `text` is given).

    Returns:
        [{"type", "start", "end", "text"}]: `text[start:end]` is the entity's exact original substring.
    """
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} words but {len(tags)} tags.")
    if text is None:
        text, word_starts, pos = " ".join(words), [], 0
        for word in words:
            word_starts.append(pos)
            pos += len(word) + 1
    elif word_starts is None:
        raise ValueError("Pass word_starts together with text.")
    entities = []
    for kind, first, last in bio_spans(tags):
        start, end = word_starts[first], word_starts[last - 1] + len(words[last - 1])
        entities.append({"type": kind, "start": start, "end": end, "text": text[start:end]})
    return entities
