"""`BertTokenClassifier`: one label per word (NER, POS), predicted on each word's first WordPiece.

keras-hub has no token-tagging task. With a preprocessor the model trains on pre-split words and their tags
(`BertTextPreprocessor.word_dataset`: each word tokenized on its own, its tag on its first WordPiece, -1 elsewhere,
ignored by the loss; batches padded to their longest row) and predicts on raw text: entities with character
offsets, decoded in-graph by `bert_keras.text.entity_decoding`, the same function the tagging export serves.
`word_tags_to_entities` turns per-word BIO tags of pre-split words into spans the same way.

Texts longer than `seq_length` (a preprocessor with `long_document="windows"`): every WordPiece is read in
windows of seq_length - 2 pieces every `window_stride`, and each takes its label from the window where it has the
most context, the rule Google BERT's `run_squad.py` applies to answer tokens (`bert_keras.text.document_windows.
max_context_labels`); entity offsets stay character offsets into the whole text, in `predict` and the export.
Long training sentences become windows of whole words (`bert_keras.text.word_features.word_windows`).
"""

import keras
import numpy as np
import tensorflow as tf

from bert_keras.metrics.tagging import bio_spans
from bert_keras.models.bert_encoder import INPUT_NAMES  # noqa: F401  (used by the docstring example, run by make test)
from bert_keras.models.encoder_task import EncoderTask, check_batch_size, check_no_steps, encoder_inputs
from bert_keras.preprocessing.bert_text_preprocessor import BertTextPreprocessor, text_column

IGNORE_LABEL = -1


@keras.saving.register_keras_serializable(package="bert_keras")
class BertTokenClassifier(EncoderTask):
    """Dropout + Dense over `sequence_output`: logits [batch, seq, num_labels]; with a preprocessor, it trains on
    words and tags and predicts entities on raw text.

    Args:
        encoder: a `BertEncoder`.
        num_labels: number of tags (e.g. 21 for BIO over 10 entity types); default `len(labels)`.
        dropout: dropout rate on the sequence output.
        labels: optional tag names in id order ("O", "B-PER", "I-PER", ...; `bert_keras.text.word_features.
            bio_tag_set` builds them); needed to predict entities on raw text. Without them, `fit` on tag names
            names them itself (`bio_tag_set` of the training tags).
        preprocessor: a `BertTextPreprocessor`: `fit` / `evaluate` take sentences as lists of words and tags
            as lists of names (or ids); `predict` takes raw strings (-> entities) or word lists (-> tags).
            Its `long_document` is "truncate" or "windows" (the module docstring). None: the model takes and
            returns id dicts / logits.

    Example:
    >>> import numpy as np
    >>> from bert_keras import BertEncoder
    >>> model = BertTokenClassifier(BertEncoder.from_config_name("tiny", vocab_size=100), num_labels=5)
    >>> tuple(model({name: np.ones((2, 8), "int32") for name in INPUT_NAMES}).shape)
    (2, 8, 5)

    On text:
    >>> from bert_keras import BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ann", "visited", "paris", "."])
    >>> tagger = BertTokenClassifier(BertEncoder.from_config_name("tiny", vocab_size=8),
    ...                              labels=["O", "B-LOC", "I-LOC", "B-PER", "I-PER"],
    ...                              preprocessor=BertTextPreprocessor(tokenizer, seq_length=16))
    >>> tagger.compile(learning_rate=3e-3)
    >>> _ = tagger.fit([["Ann", "visited", "Paris", "."]] * 16, [["B-PER", "O", "B-LOC", "O"]] * 16,
    ...                batch_size=4, epochs=4, verbose=0)
    >>> tagger.predict(["Ann visited Paris."], verbose=0)[0]
    [{'type': 'PER', 'text': 'Ann', 'start': 0, 'end': 3}, {'type': 'LOC', 'text': 'Paris', 'start': 12, 'end': 17}]
    """

    TEXT_TASK = True
    task = "tag"

    def __init__(self, encoder, num_labels=None, dropout=0.1, labels=None, preprocessor=None, **kwargs):
        if labels is not None:
            if isinstance(labels, (str, bytes)) or not all(isinstance(label, str) for label in labels):
                raise ValueError(f"labels are tag names, a list of strings in id order; got {labels!r}. Integer tags "
                                 "are tag ids already: pass num_labels=n for tags 0..n-1.")
            labels = list(labels)
            if len(set(labels)) != len(labels):
                raise ValueError(f"labels must be distinct tag names, got {labels}.")
            if num_labels is not None and num_labels != len(labels):
                raise ValueError(f"num_labels={num_labels} but {len(labels)} labels {labels}.")
            num_labels = len(labels)
        if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 2:
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
        self.labels = labels
        self.preprocessor = preprocessor
        self._freeze_unused_pooler()

    def _check_preprocessor(self, preprocessor):
        long_document = getattr(preprocessor, "long_document", "truncate")
        if long_document not in ("truncate", "windows"):
            raise ValueError(f"A tagger reads long texts with long_document='truncate' or 'windows' (every piece, "
                             f"labelled from its max-context window), got {long_document!r}: head_tail would "
                             "drop the middle's words.")

    @classmethod
    def from_pretrained(cls, path, labels=None, num_labels=None, seq_length=128, dropout=0.1, precision="auto",
                        lora_rank=None, long_document="truncate", window_stride=None, max_windows=16,
                        **encoder_kwargs):
        """A tagger on a pretrained checkpoint (directory or hub id), with its tokenizer, compiled with the
        fine-tuning recipe. `labels` / `num_labels` and the rest as the constructor and
        `BertClassifier.from_pretrained` (`precision`, `lora_rank`); `long_document="windows"` (with
        `window_stride`, `max_windows`) tags texts longer than `seq_length` in windows (the class docstring)."""
        encoder, tokenizer = cls._load_pretrained(path, seq_length, dropout, precision, **encoder_kwargs)
        preprocessor = BertTextPreprocessor(tokenizer, seq_length, long_document=long_document,
                                            window_stride=window_stride, max_windows=max_windows)
        model = cls(encoder, num_labels=num_labels, dropout=dropout, labels=labels, preprocessor=preprocessor)
        return model._ready_to_train(lora_rank)

    def default_loss(self):
        """Cross-entropy over first WordPieces; positions labelled -1 (other pieces, specials, padding) are ignored."""
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)

    def outputs_from_word_vectors(self, features, word_vectors):
        """Logits [batch, seq, num_labels] with `word_vectors` in place of the word lookup (see
        `EncoderTask.outputs_from_word_vectors`)."""
        sequence, _ = self.encoder.run_layers(features, word_vectors=word_vectors)
        return self.get_layer("logits")(sequence)

    def serving_outputs(self, outputs):
        """The raw outputs under the export's name: `{"logits"}` [batch, seq, num_labels]."""
        return {"logits": outputs}

    def task_config(self):
        labels = None if self.labels is None else list(self.labels)
        return {"num_labels": self.num_labels, "dropout": self.dropout, "labels": labels}

    # ------------------------------------------------------------------------------------------ text path

    def _text_batches(self, x, y, sample_weight, batch_size, training, shuffle, pad_to_multiple_of):
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported for tagging (the loss is per word piece).")
        words = _sentences(x)
        tags = None if y is None else self._tag_ids(words, y, name_tags=training)
        if self._windowed:
            words, tags = self._word_windows(words, tags)
        return self.preprocessor.word_dataset(words, tags, batch_size=batch_size, shuffle=shuffle,
                                              sort_by_length=not training, pad_to_multiple_of=pad_to_multiple_of)

    def _read_dataset(self, dataset, need_targets=False):
        """Words and tags of a `tf.data.Dataset` of `(words, tags)` (string [words] each), batched or not."""
        spec = dataset.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise ValueError(f"Expected a dataset of (words, tags) elements, got element_spec {spec}.")
        if spec[0].shape.rank == 2:
            dataset = dataset.unbatch()
        if int(dataset.cardinality()) == tf.data.INFINITE_CARDINALITY:
            raise ValueError("The dataset is infinite (repeat()?): pass a finite one; fit(epochs=...) repeats it.")
        words, tags = [], []
        for w, t in dataset.as_numpy_iterator():
            words.append([v.decode("utf-8") for v in w])
            tags.append([v.decode("utf-8") if isinstance(v, bytes) else int(v) for v in t])
        return words, tags, None

    def _tag_ids(self, words, y, name_tags=False):
        """Tag ids of `y` (names or ids) for `words`; `name_tags`: fit's own tags, which may name an unnamed
        tagger's tags (`bio_tag_set`)."""
        y = [list(tags) for tags in y]
        if len(y) != len(words):
            raise ValueError(f"{len(words)} sentences but {len(y)} tag lists.")
        for i, (w, t) in enumerate(zip(words, y)):
            if len(w) != len(t):
                raise ValueError(f"Sentence {i} has {len(w)} words but {len(t)} tags.")
            for j, word in enumerate(w):
                if not (word.decode("utf-8") if isinstance(word, bytes) else word).strip():
                    raise ValueError(f"Sentence {i}, word {j} is {word!r}: it has no WordPiece to learn its tag "
                                     "from; drop empty words (and their tags).")
        names = any(isinstance(tag, (str, bytes)) for tags in y for tag in tags)
        if not names:
            for i, tags in enumerate(y):
                bad = [tag for tag in tags if isinstance(tag, bool) or not isinstance(tag, (int, np.integer))
                       or not 0 <= tag < self.num_labels]
                if bad:
                    raise ValueError(f"Sentence {i}: tag ids {bad[:5]} are not ints in [0, {self.num_labels}).")
            return y
        y = [[tag.decode("utf-8") if isinstance(tag, bytes) else tag for tag in tags] for tags in y]
        if self.labels is None:
            from bert_keras.text.word_features import bio_tag_set

            if not name_tags:
                raise ValueError("This tagger has no tag names, so its tags are ids (ints), got names: pass "
                                 "labels=[...] in id order when building it, or fit it on the names first.")
            found = bio_tag_set(zip(words, y))
            if len(found) != self.num_labels:
                raise ValueError(f"The tags make the BIO tag set {found[:10]} of {len(found)} tags but the model has "
                                 f"num_labels={self.num_labels}; pass labels=[...] in id order.")
            self.labels = found
        index = {label: i for i, label in enumerate(self.labels)}
        for i, tags in enumerate(y):
            for j, tag in enumerate(tags):
                if tag not in index:
                    raise ValueError(f"Sentence {i}, word {j} ({words[i][j]!r}) has tag {tag!r}, not one of the "
                                     f"model's labels {self.labels}; fix the tag, or train a model that has it.")
        return [[index[tag] for tag in tags] for tags in y]

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """With a preprocessor: raw strings -> per text, its entities `[{"type", "text", "start", "end"}]`
        (character offsets, `text[start:end]` is the entity), as the export's `serving_default` returns them;
        sentences as word lists -> per sentence, one tag per word (words cut off by `seq_length` get "O").
        Without one: Keras `predict` on id dicts (logits)."""
        if self.preprocessor is None:
            return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        check_no_steps(steps)
        if isinstance(x, tf.data.Dataset):
            raise ValueError("predict takes a list of raw strings or of word lists (a tf.data.Dataset of strings "
                             "cannot tell one sentence's words from a batch of texts): pass a list.")
        if _is_word_lists(x):
            return self.predict_word_tags(x, batch_size)
        return self.predict_entities(x, batch_size)

    @property
    def _windowed(self):
        return getattr(self.preprocessor, "long_document", "truncate") == "windows"

    def _word_windows(self, words, tags):
        """Training rows of long sentences: windows of whole words of at most seq_length - 2 pieces, each starting
        at the first word >= `window_stride` pieces after the last one's start, every window with its words' tags."""
        from bert_keras.text.word_features import word_windows

        budget, stride, _ = self.preprocessor.window_settings
        flat = [w for sentence in words for w in sentence]
        pieces = self.preprocessor.tokenize_many(flat).row_lengths().numpy() if flat else np.zeros(0, int)
        out_words, out_tags, at = [], [] if tags is not None else None, 0
        for i, sentence in enumerate(words):
            for lo, hi in word_windows(pieces[at:at + len(sentence)], budget, stride):
                out_words.append(sentence[lo:hi])
                if tags is not None:
                    out_tags.append(tags[i][lo:hi])
            at += len(sentence)
        return out_words, out_tags

    def predict_word_tags(self, words, batch_size=None):
        """One tag per word (its first WordPiece's argmax) for sentences given as word lists (with
        long_document="windows" every word is read, labelled from its max-context window, up to `max_windows`)."""
        self._require_preprocessor("predict_word_tags")
        batch_size = check_batch_size(batch_size, self.DEFAULT_BATCH_SIZE)
        words = _sentences(words)
        if self._windowed:
            return self._predict_window_word_tags(words, batch_size)
        dataset, _, order = self.preprocessor.word_dataset(words, batch_size=batch_size,
                                                           sort_by_length=True, pad_to_multiple_of=1, word_index=True)
        names = self.labels or [str(i) for i in range(self.num_labels)]
        tags = [None] * len(words)
        rows = iter(order)
        for features, word_index in dataset:
            best = np.asarray(self.predict_on_batch(features)).argmax(-1)
            word_index = word_index.numpy()
            for r in range(len(best)):
                i = next(rows)
                sentence = ["O"] * len(words[i])
                for pos in np.nonzero(word_index[r] >= 0)[0]:
                    sentence[word_index[r, pos]] = names[best[r, pos]]
                tags[i] = sentence
        return tags

    def _predict_window_word_tags(self, words, batch_size):
        names = self.labels or [str(i) for i in range(self.num_labels)]
        fn = self._window_tags_function()
        tags = []
        for start in range(0, len(words), batch_size):
            batch = words[start:start + batch_size]
            labels, word_index = fn(tf.ragged.constant(batch, dtype=tf.string, ragged_rank=1,
                                                       row_splits_dtype=tf.int64))
            for sentence, row_labels, row_words in zip(batch, labels.to_list(), word_index.to_list()):
                sentence_tags = ["O"] * len(sentence)
                for label, w in zip(row_labels, row_words):
                    if w >= 0:
                        sentence_tags[w] = names[label]
                tags.append(sentence_tags)
        return tags

    def _window_tags_function(self):
        from bert_keras.text.document_windows import max_context_labels, prefix
        from bert_keras.text.segment_packer import trim_to_longest
        from bert_keras.text.word_features import word_pieces

        cached = getattr(self, "_window_tags_fn", None)
        if cached is None or cached[0] != id(self.preprocessor):
            preprocessor = self.preprocessor
            tok = preprocessor.tokenizer
            _, stride, max_windows = preprocessor.window_settings

            def tags(words):
                ids, word_index = word_pieces(tok, words)
                labels, _, _ = max_context_labels(self, ids, preprocessor.seq_length, tok.cls_id, tok.sep_id,
                                                  tok.pad_id, stride, max_windows, trim=trim_to_longest)
                return labels, prefix(word_index, labels.row_lengths())

            spec = tf.RaggedTensorSpec([None, None], tf.string, ragged_rank=1, row_splits_dtype=tf.int64)
            cached = (id(self.preprocessor), tf.function(tags, input_signature=[spec]))
            object.__setattr__(self, "_window_tags_fn", cached)
        return cached[1]

    def predict_entities(self, texts, batch_size=None):
        """Entities `[{"type", "text", "start", "end"}]` per raw text, decoded in-graph
        (`bert_keras.text.entity_decoding.tag_outputs`, the tagging export's function) on batches sorted by length
        and cut to their longest row."""
        self._require_preprocessor("predict_entities")
        if not self.labels:
            raise ValueError("The model has no tag names to decode entities with: build it with labels=[...] or fit "
                             "it on tag names.")
        batch_size = check_batch_size(batch_size, self.DEFAULT_BATCH_SIZE)
        texts = text_column(texts)
        ids, _, lengths = self.preprocessor.tokenize_columns(texts)
        if self._windowed:  # the windows per text decide a batch's rows
            lengths = ids.row_lengths().numpy()
        order = np.argsort(lengths, kind="stable")
        decode = self._entity_function()
        results = [None] * len(texts)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            out = {k: v.numpy() for k, v in decode(tf.constant([_as_bytes(t) for t in texts[rows]])).items()}
            for r, i in enumerate(rows):
                n = out["num_entities"][r]
                results[i] = [{"type": out["entity_type"][r, j].decode("utf-8"),
                               "text": out["entity_text"][r, j].decode("utf-8"),
                               "start": int(out["entity_start"][r, j]), "end": int(out["entity_end"][r, j])}
                              for j in range(n)]
        return results

    def _entity_function(self):
        from bert_keras.text.entity_decoding import tag_outputs

        key = (id(self.preprocessor), tuple(self.labels))
        cached = getattr(self, "_entity_fn", None)
        if cached is None or cached[0] != key:
            tokenizer, seq_length, labels = self.preprocessor.tokenizer, self.preprocessor.seq_length, self.labels

            windows = self.preprocessor.window_settings[1:] if self._windowed else None

            def decode(texts):
                return tag_outputs(tokenizer, self, texts, seq_length, labels, trim=True, windows=windows)

            fn = tf.function(decode, input_signature=[tf.TensorSpec([None], tf.string)])
            object.__setattr__(self, "_entity_fn", (key, fn))
            cached = (key, fn)
        return cached[1]

    def task_metrics(self, words, tags, batch_size=None):
        """Entity precision, recall and F1 (exact spans, `bert_keras.metrics.entity_f1`) of the predicted word
        tags; what `trainers.finetune` writes to metrics.json."""
        from bert_keras import metrics

        words = _sentences(words)
        tags = [[t.decode("utf-8") if isinstance(t, bytes) else t for t in ts] for ts in tags]
        if tags and tags[0] and not isinstance(tags[0][0], str):
            names = self.labels or [str(i) for i in range(self.num_labels)]
            tags = [[names[t] for t in ts] for ts in tags]
        return metrics.entity_f1(tags, self.predict_word_tags(words, batch_size))


def _as_bytes(text):
    return text if isinstance(text, bytes) else str(text).encode("utf-8")


def _is_word_lists(x):
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__") or len(x) == 0:
        return False
    first = x[0]
    return isinstance(first, (list, tuple)) or (isinstance(first, np.ndarray) and first.ndim == 1)


def _sentences(x):
    """Sentences as lists of str words; refuses raw strings and non-string words with their position."""
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise ValueError(f"Expected a list of sentences, each a list of words; got {type(x).__name__}.")
    if len(x) == 0:
        raise ValueError("No sentences given.")
    sentences = []
    for i, sentence in enumerate(x):
        if isinstance(sentence, (str, bytes)):
            raise ValueError(f"Sentence {i} is a string {sentence[:40]!r}: training takes sentences split into "
                             "words (lists of str), one tag per word; predict() takes raw strings.")
        words = []
        for j, word in enumerate(sentence):
            if isinstance(word, bytes):
                word = word.decode("utf-8")
            if not isinstance(word, str):
                raise ValueError(f"Sentence {i}, word {j} is {type(word).__name__} {word!r}, not a string.")
            words.append(word)
        sentences.append(words)
    return sentences


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
