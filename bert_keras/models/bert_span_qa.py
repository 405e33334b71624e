"""`BertSpanQA`: SQuAD-style extractive QA, start and end logits over every position.

keras-hub has no span-QA task. With a preprocessor the model trains on (question, context) strings and answers
(`bert_keras.text.squad_features.build_qa_features`: Google's `run_squad.py` windows over long contexts, answer
positions as labels; batches cut to their longest window) and answers questions on raw text, decoded in-graph by
`bert_keras.text.answer_decoding` (the QA export serves the same function). The no-answer case of SQuAD 2.0 is
the [CLS] position (index 0).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from bert_keras.data.squad import SquadExample
from bert_keras.models.bert_encoder import INPUT_NAMES
from bert_keras.models.encoder_task import EncoderTask, check_batch_size, check_no_steps, encoder_inputs
from bert_keras.preprocessing.bert_text_preprocessor import BertTextPreprocessor, text_column
from bert_keras.text import squad_features


@keras.saving.register_keras_serializable(package="bert_keras")
class SpanLogits(keras.layers.Layer):
    """Dense(2) over the sequence, split into start / end logits; padding positions get -1e9."""

    def __init__(self, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            2, dtype=self.dtype_policy, name="dense",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, sequence_shape, mask_shape=None):
        self.dense.build(sequence_shape)
        self.built = True

    def call(self, sequence, mask):
        logits = ops.cast(self.dense(sequence), "float32")
        pad = (1.0 - ops.cast(mask, "float32")) * -1e9
        return {"start_logits": logits[..., 0] + pad, "end_logits": logits[..., 1] + pad}

    def get_config(self):
        return {**super().get_config(), "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package="bert_keras")
class BertSpanQA(EncoderTask):
    """Outputs {"start_logits", "end_logits"}, each float32 [batch, seq]; with a preprocessor, it trains and
    answers on (question, context) strings.

    Args:
        encoder: a `BertEncoder`.
        preprocessor: a `BertTextPreprocessor` (its tokenizer and `seq_length`, the window length). Then `fit`
            / `evaluate` take `(questions, contexts)` and answers (per question: the answer text, `(text,
            char_start)`, a SQuAD `{"text", "answer_start"}` dict, None for no answer, or a list of those: the
            first trains, all count as gold in `task_metrics`), or a list of `bert_keras.data.squad.SquadExample`;
            `predict` returns answers. None: the model takes id dicts.
        doc_stride: tokens between the starts of a long context's windows.
        max_query_length: question tokens kept.
        max_answer_length: longest answer, in tokens.
        allow_no_answer: SQuAD 2.0: answer "" when the [CLS] score beats the best span.

    Example:
    >>> import numpy as np
    >>> from bert_keras import BertEncoder
    >>> model = BertSpanQA(BertEncoder.from_config_name("tiny", vocab_size=100))
    >>> tuple(model({name: np.ones((2, 8), "int32") for name in INPUT_NAMES})["start_logits"].shape)
    (2, 8)

    On text:
    >>> from bert_keras import BertTokenizer
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "who", "went", "ann", "bob", "left", "?"])
    >>> qa = BertSpanQA(BertEncoder.from_config_name("tiny", vocab_size=10),
    ...                 preprocessor=BertTextPreprocessor(tokenizer, seq_length=16), max_query_length=4)
    >>> qa.compile(learning_rate=3e-3)
    >>> _ = qa.fit((["Who went?"] * 16, ["Bob left, Ann went"] * 16), ["Ann"] * 16, batch_size=4, epochs=6, verbose=0)
    >>> answer = qa.predict((["Who went?"], ["Bob left, Ann went"]), verbose=0)[0]
    >>> answer["text"], answer["start"], answer["end"]
    ('Ann', 10, 13)
    """

    TEXT_TASK = True
    task = "qa"

    def __init__(self, encoder, preprocessor=None, doc_stride=squad_features.DOC_STRIDE,
                 max_query_length=squad_features.MAX_QUERY_LENGTH, max_answer_length=squad_features.MAX_ANSWER_LENGTH,
                 allow_no_answer=False, **kwargs):
        for name, value in (("doc_stride", doc_stride), ("max_query_length", max_query_length),
                            ("max_answer_length", max_answer_length)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        outputs = SpanLogits(encoder.initializer_range, dtype="float32", name="span_logits")(
            sequence, inputs["input_mask"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length
        self.max_answer_length = max_answer_length
        self.allow_no_answer = bool(allow_no_answer)
        self.preprocessor = preprocessor
        self._freeze_unused_pooler()

    def _check_preprocessor(self, preprocessor):
        long_document = getattr(preprocessor, "long_document", "truncate")
        if long_document != "truncate":
            raise ValueError(f"Span QA reads long contexts in windows of its own (doc_stride), so its preprocessor "
                             f"takes long_document='truncate', got {long_document!r}.")
        if preprocessor.seq_length - self.max_query_length - 3 < 1:
            raise ValueError(f"seq_length={preprocessor.seq_length} leaves no room for context after a "
                             f"{self.max_query_length}-token question (max_query_length); raise seq_length or lower "
                             "max_query_length.")

    @classmethod
    def from_pretrained(cls, path, seq_length=384, dropout=0.1, precision="auto", lora_rank=None, **kwargs):
        """A span-QA model on a pretrained checkpoint (directory or hub id), with its tokenizer, compiled with the
        fine-tuning recipe. `seq_length` is the window length (SQuAD's 384 by default); `doc_stride`,
        `max_query_length`, `max_answer_length`, `allow_no_answer` as the constructor; `precision` and
        `lora_rank` as `BertClassifier.from_pretrained`; the rest go to `BertEncoder.from_pretrained`."""
        settings = {k: kwargs.pop(k) for k in ("doc_stride", "max_query_length", "max_answer_length",
                                               "allow_no_answer") if k in kwargs}
        encoder, tokenizer = cls._load_pretrained(path, seq_length, dropout, precision, **kwargs)
        model = cls(encoder, preprocessor=BertTextPreprocessor(tokenizer, seq_length), **settings)
        return model._ready_to_train(lora_rank)

    def task_config(self):
        return self.qa_settings

    @property
    def qa_settings(self):
        """The windowing and answer-search settings (what the export's QA signature is built with)."""
        return {"doc_stride": self.doc_stride, "max_query_length": self.max_query_length,
                "max_answer_length": self.max_answer_length, "allow_no_answer": self.allow_no_answer}

    def default_loss(self):
        """Cross-entropy of the start and of the end position."""
        ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return {"start_logits": ce, "end_logits": ce}

    def outputs_from_word_vectors(self, features, word_vectors):
        """`{"start_logits", "end_logits"}` with `word_vectors` in place of the word lookup (see
        `EncoderTask.outputs_from_word_vectors`)."""
        sequence, _ = self.encoder.run_layers(features, word_vectors=word_vectors)
        return self.get_layer("span_logits")(sequence, features["input_mask"])

    def serving_outputs(self, outputs):
        """The raw outputs under the export's names: `{"start_logits", "end_logits"}`."""
        return {"start_logits": outputs["start_logits"], "end_logits": outputs["end_logits"]}

    # ------------------------------------------------------------------------------------------ text path

    def _text_batches(self, x, y, sample_weight, batch_size, training, shuffle, pad_to_multiple_of):
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported for span QA (a question's windows are separate rows).")
        examples = self.examples(x, y, need_answers=True, training=training)
        f = squad_features.build_qa_features(self.preprocessor.tokenizer, examples, self.preprocessor.seq_length,
                                             self.doc_stride, self.max_query_length)
        features = {name: f[name] for name in INPUT_NAMES}
        dataset, batches, order = self.preprocessor.features_dataset(
            features, (f["start_positions"], f["end_positions"]), batch_size=batch_size, shuffle=shuffle,
            sort_by_length=not training, pad_to_multiple_of=pad_to_multiple_of)
        dataset = dataset.map(lambda x, start, end: (x, {"start_logits": start, "end_logits": end}))
        return dataset, batches, order

    def _inputs_carry_targets(self, x):
        return True  # `examples` asks for the answers itself, naming the forms it takes

    def _read_dataset(self, dataset, need_targets=False):
        raise ValueError("Span QA takes (questions, contexts) and answers, or a list of SquadExample; not a "
                         "tf.data.Dataset (a question's windows are built in Python).")

    def examples(self, x, y=None, need_answers=False, training=False):
        """`SquadExample`s of `(questions, contexts)` and answers (see the class), or of a list of them.
        `training`: refuse questions without an answer unless the model has `allow_no_answer` (it would learn to
        point at [CLS], an answer it never gives); evaluation scores them against "" either way."""
        if isinstance(x, (list, tuple)) and x and all(isinstance(e, SquadExample) for e in x):
            if y is not None:
                raise ValueError("Pass SquadExamples alone: they carry their answers.")
            return self._check_answerable(list(x)) if training else list(x)
        if not isinstance(x, tuple) or len(x) != 2:
            raise ValueError("Span QA takes x=(questions, contexts), two lists of strings of the same length, or a "
                             f"list of SquadExample; got {type(x).__name__}.")
        questions, contexts = text_column(x[0], "questions"), text_column(x[1], "contexts")
        if len(questions) != len(contexts):
            raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts.")
        questions = [q.decode("utf-8") if isinstance(q, bytes) else str(q) for q in questions]
        contexts = [c.decode("utf-8") if isinstance(c, bytes) else str(c) for c in contexts]
        if y is None:
            if need_answers:
                raise ValueError("Training and evaluating span QA need answers: fit((questions, contexts), answers) "
                                 "(None for a question without one).")
            return [SquadExample(str(i), q, c, [], False) for i, (q, c) in enumerate(zip(questions, contexts))]
        if isinstance(y, (str, bytes)):
            raise ValueError(f"answers must be a list with one answer per question, got the single string {y!r}; "
                             "wrap it: [answer].")
        y = list(y)
        if len(y) != len(questions):
            raise ValueError(f"{len(questions)} questions but {len(y)} answers.")
        examples = [SquadExample(str(i), q, c, _answer_spans(a, c, i), False)
                    for i, (q, c, a) in enumerate(zip(questions, contexts, y))]
        return self._check_answerable(examples) if training else examples

    def _check_answerable(self, examples):
        if not self.allow_no_answer:
            for example in examples:
                if not example.answers or example.is_impossible:
                    raise ValueError(
                        f"Question {example.qid} ({example.question[:60]!r}) has no answer, but this model has "
                        "allow_no_answer=False: build it with allow_no_answer=True (SQuAD 2.0; trainers.finetune "
                        "--version_2_with_negative) to train on questions without one, or drop the question.")
        return examples

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """With a preprocessor: `(questions, contexts)` (or SquadExamples) -> per question `{"text", "start",
        "end", "score"}` with character offsets into its context (`context[start:end] == text`; "" and -1 for
        no answer), searched over every window of the context, as the export answers. Without one: Keras
        `predict` on id dicts (start and end logits)."""
        if self.preprocessor is None:
            return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        check_no_steps(steps)
        batch_size = check_batch_size(batch_size, self.DEFAULT_BATCH_SIZE)
        examples = self.examples(x)
        order = np.argsort([len(e.context) for e in examples], kind="stable")
        answer = self._answer_function()
        results = [None] * len(examples)
        for start in range(0, len(examples), batch_size):
            rows = order[start:start + batch_size]
            out = answer(tf.constant([examples[i].question.encode("utf-8") for i in rows]),
                         tf.constant([examples[i].context.encode("utf-8") for i in rows]))
            out = {k: v.numpy() for k, v in out.items()}
            for r, i in enumerate(rows):
                results[i] = {"text": out["answer"][r].decode("utf-8"), "start": int(out["start"][r]),
                              "end": int(out["end"][r]), "score": float(out["score"][r])}
        return results

    def _answer_function(self):
        from bert_keras.text.answer_decoding import qa_outputs

        key = (id(self.preprocessor), tuple(self.qa_settings.items()))
        cached = getattr(self, "_answer_fn", None)
        if cached is None or cached[0] != key:
            tokenizer, seq_length, settings = self.preprocessor.tokenizer, self.preprocessor.seq_length, self.qa_settings

            def answer(questions, contexts):
                # Every window is searched: a library call has no server to protect (the export caps them).
                return qa_outputs(tokenizer, self, questions, contexts, seq_length, max_windows=2 ** 30, trim=True,
                                  **settings)

            spec = tf.TensorSpec([None], tf.string)
            cached = (key, tf.function(answer, input_signature=[spec, spec]))
            object.__setattr__(self, "_answer_fn", cached)
        return cached[1]

    def task_metrics(self, x, y=None, batch_size=None):
        """SQuAD exact match and F1 (`bert_keras.metrics.squad_metrics`) of the predicted answers against every
        gold answer; what `trainers.finetune` writes to metrics.json."""
        from bert_keras import metrics

        examples = self.examples(x, y, need_answers=True)
        answers = self.predict(examples, batch_size=batch_size)
        return metrics.squad_metrics({e.qid: a["text"] for e, a in zip(examples, answers)},
                                     {e.qid: [t for t, _ in e.answers] for e in examples})


def _answer_spans(answer, context, row):
    """[(text, char_start)] of one question's answer(s) as the class docstring lists them."""
    if answer is None or (isinstance(answer, str) and answer == ""):
        return []
    if isinstance(answer, list):
        return [span for a in answer for span in _answer_spans(a, context, row)]
    if isinstance(answer, dict):
        if "text" not in answer:
            raise ValueError(f"Answer {row} is a dict without 'text': {answer}.")
        answer = (answer["text"], answer.get("answer_start"))
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8")
    if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], bytes):
        answer = (answer[0].decode("utf-8"), answer[1])
    if isinstance(answer, str):
        answer = (answer, None)
    if not isinstance(answer, tuple) or len(answer) != 2 or not isinstance(answer[0], str):
        raise ValueError(f"Answer {row} must be a string, (text, char_start), {{'text', 'answer_start'}}, None or a "
                         f"list of those; got {answer!r}.")
    text, start = answer
    if not text.strip():
        raise ValueError(f"Answer {row} is {text!r}: an answer needs a word of the context (None marks a question "
                         "without one).")
    if start is None:
        start = context.find(text)
        if start < 0:
            raise ValueError(f"Answer {row} {text!r} does not occur in its context; pass (text, char_start) or "
                             "fix the answer.")
    elif isinstance(start, (bool, np.bool_)) or not isinstance(start, (int, np.integer)) or start < 0:
        raise ValueError(f"Answer {row}: answer_start must be a character offset (an int >= 0) into its context, got "
                         f"{start!r} ({type(start).__name__}); convert it with int() or pass the answer text alone.")
    elif context[start:start + len(text)] != text:
        raise ValueError(f"Answer {row}: context[{start}:{start + len(text)}] is "
                         f"{context[start:start + len(text)]!r}, not the answer {text!r}; fix answer_start.")
    return [(text, int(start))]
