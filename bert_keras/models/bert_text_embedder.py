"""`BertTextEmbedder`: sentence embeddings (mean or [CLS] pooling, L2-normalized) on raw text.

What sentence-transformers' `SentenceTransformer.encode` does for a BERT checkpoint such as
all-MiniLM-L6-v2 (mask-weighted mean, then `Normalize`), as a Keras model that owns its tokenizer: `predict`
takes strings and returns one unit vector per text, so `a @ b.T` is the cosine similarity. Pooling is
`TextEmbeddingPooling`, the same layer behind the export's `embed` signature.
"""

import keras

from bert_keras.layers.text_embedding_pooling import TextEmbeddingPooling
from bert_keras.models.encoder_task import EncoderTask, encoder_inputs
from bert_keras.preprocessing.bert_text_preprocessor import BertTextPreprocessor, text_column


@keras.saving.register_keras_serializable(package="bert_keras")
class BertTextEmbedder(EncoderTask):
    """Encoder + pooling: float32 [batch, hidden] embeddings.

    Args:
        encoder: a `BertEncoder`.
        pooling: "mean" (mask-weighted mean of the real tokens; sentence-transformers' default) or "cls".
        normalize: L2-normalize the embeddings.
        preprocessor: a `BertTextPreprocessor` (then `predict` takes texts), or None (id dicts).

    Example:
    >>> from bert_keras import BertEncoder, BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "film"])
    >>> embedder = BertTextEmbedder(BertEncoder.from_config_name("tiny", vocab_size=6),
    ...                             preprocessor=BertTextPreprocessor(tokenizer, seq_length=16))
    >>> vectors = embedder.predict(["good film", "film"], verbose=0)
    >>> vectors.shape, round(float((vectors[0] ** 2).sum()), 4)
    ((2, 128), 1.0)
    """

    TEXT_TASK = True

    def __init__(self, encoder, pooling="mean", normalize=True, preprocessor=None, **kwargs):
        inputs = encoder_inputs()
        pool = TextEmbeddingPooling(pooling, normalize, name="pooling")
        outputs = pool(encoder(inputs)["sequence_output"], inputs["input_mask"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.pooling = pooling
        self.normalize = normalize
        self.preprocessor = preprocessor
        self._freeze_unused_pooler()

    @classmethod
    def from_pretrained(cls, path, pooling="mean", normalize=True, seq_length=128, precision="auto",
                        **encoder_kwargs):
        """An embedder on a checkpoint directory or hub id, with its tokenizer (see `BertClassifier.from_pretrained`).

        all-MiniLM-L6-v2 was trained with mean pooling and normalization (the defaults) and 128 tokens at most.
        """
        encoder, tokenizer = cls._load_pretrained(path, seq_length, 0.0, precision, **encoder_kwargs)
        return cls(encoder, pooling=pooling, normalize=normalize,
                   preprocessor=BertTextPreprocessor(tokenizer, seq_length))

    def task_config(self):
        return {"pooling": self.pooling, "normalize": self.normalize}

    def _text_inputs(self, x):
        return text_column(x), None

    def _finish_predictions(self, outputs):
        return outputs
