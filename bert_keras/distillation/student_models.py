"""Students for distillation: a task model of the teacher's kind on a smaller encoder, ready to `fit`.

DistilBERT's initialisation (Sanh et al. 2019: the student keeps the teacher's width and takes one of every k of
its layers, with its embeddings, pooler and task head), or a named size (`tiny` .. `base`) or pretrained checkpoint
of the same vocabulary. Leans on this package's `BertEncoder` config and Keras's `get_weights` / `set_weights`:
a student's layers are the teacher's own layer classes, so copying is by layer, and a copied layer computes
exactly what it computed in the teacher.
"""

import keras

from bert_keras.models.bert_classifier import BertClassifier
from bert_keras.models.bert_encoder import BertEncoder


def teacher_layers_to_keep(teacher_layers, student_layers):
    """The teacher's blocks a `student_layers`-block student starts from: every k-th from the first, as
    DistilBERT takes one of every two (12 -> 6: 0, 2, 4, 6, 8, 10).

    >>> teacher_layers_to_keep(6, 3), teacher_layers_to_keep(12, 4), teacher_layers_to_keep(6, 1)
    ([0, 2, 4], [0, 3, 6, 9], [0])
    """
    for name, value in (("teacher_layers", teacher_layers), ("student_layers", student_layers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if student_layers > teacher_layers:
        raise ValueError(f"A student of {student_layers} layers is not smaller than its teacher of {teacher_layers}; "
                         f"pass student_layers < {teacher_layers}.")
    return [round(i * teacher_layers / student_layers) for i in range(student_layers)]


def student_from_teacher(teacher, student_layers=None, student_config=None, student_checkpoint=None,
                         dropout=None, precision="auto"):
    """A `BertClassifier` student for `teacher` (a `BertClassifier` with its preprocessor): the same labels,
    tokenizer and preprocessor settings, compiled with the fine-tuning recipe. Exactly one of:

    Args:
        teacher: the fine-tuned `BertClassifier` (classes or regression) to distil.
        student_layers: keep the teacher's width and its blocks `teacher_layers_to_keep(...)`, embeddings,
            pooler and head (DistilBERT's initialisation).
        student_config: a named size (`bert_keras.configs`: "tiny", "mini", "small", ...) of the teacher's
            vocabulary, randomly initialised.
        student_checkpoint: a pretrained checkpoint (directory or hub id) whose vocabulary is the teacher's.
        dropout: the student's dropout (encoder and head); default the teacher's head dropout.
        precision: the student's compute precision ("auto", "float32", "mixed_bfloat16", ...).

    Returns:
        (student, description): the compiled student and a dict saying how it was made.

    Example:
    >>> from bert_keras import BertTokenizer
    >>> from bert_keras.preprocessing import BertTextPreprocessor
    >>> tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "film"])
    >>> teacher = BertClassifier(BertEncoder.from_config_name("tiny", vocab_size=7, num_layers=4), labels=["n", "p"],
    ...                          preprocessor=BertTextPreprocessor(tokenizer, seq_length=16))
    >>> student, how = student_from_teacher(teacher, student_layers=2, precision="float32")
    >>> student.encoder.num_layers, how["teacher_layers"], student.labels
    (2, [0, 2], ['n', 'p'])
    """
    from bert_keras.precision import resolve_precision

    if not isinstance(teacher, BertClassifier):
        raise ValueError(f"Distillation takes a BertClassifier teacher (classify or regress), got "
                         f"{type(teacher).__name__}; taggers and span QA are not distilled yet.")
    if teacher.preprocessor is None:
        raise ValueError("The teacher has no preprocessor (preprocessor=None): the student is trained on text with "
                         "the teacher's tokenizer. Set teacher.preprocessor or load the teacher's model.keras.")
    chosen = [name for name, value in (("student_layers", student_layers), ("student_config", student_config),
                                       ("student_checkpoint", student_checkpoint)) if value]
    if len(chosen) != 1:
        raise ValueError(f"Pass exactly one of student_layers, student_config, student_checkpoint; got {chosen or 'none'}.")
    dropout = teacher.dropout if dropout is None else dropout
    dtype = resolve_precision(precision)
    source = teacher.encoder
    overrides = {"dropout": dropout, "attention_dropout": dropout, "dtype": dtype}
    description = {"teacher_layers_total": source.num_layers}
    copy_head = False
    if student_layers:
        keep = teacher_layers_to_keep(source.num_layers, student_layers)
        encoder = BertEncoder(**{**source.encoder_config(), "num_layers": student_layers, **overrides})
        encoder.embeddings.set_weights(source.embeddings.get_weights())
        for i, block in zip(keep, encoder.transformer_blocks):
            block.set_weights(source.transformer_blocks[i].get_weights())
        encoder.pooler.set_weights(source.pooler.get_weights())
        description.update(init="teacher_layers", teacher_layers=keep)
        copy_head = True
    elif student_config:
        encoder = BertEncoder.from_config_name(student_config, vocab_size=source.vocab_size,
                                               max_sequence_length=source.max_sequence_length,
                                               type_vocab_size=source.type_vocab_size, **overrides)
        description.update(init="random", config=student_config)
    else:
        from bert_keras.checkpoints.hub import resolve_checkpoint
        from bert_keras.text.bert_tokenizer import BertTokenizer

        directory = resolve_checkpoint(student_checkpoint)
        theirs = BertTokenizer.from_pretrained(directory).vocabulary
        if list(theirs) != list(teacher.preprocessor.tokenizer.vocabulary):
            raise ValueError(f"The student checkpoint {student_checkpoint!r} has another vocabulary ({len(theirs)} "
                             f"tokens) than the teacher ({teacher.preprocessor.tokenizer.vocab_size}): the student "
                             "reads the teacher's ids, so it needs the same vocab.txt.")
        encoder = BertEncoder.from_pretrained(directory, **overrides)
        description.update(init="checkpoint", checkpoint=str(student_checkpoint))
    student = BertClassifier(encoder, num_classes=teacher.num_classes, dropout=dropout, labels=teacher.labels,
                             preprocessor=teacher.preprocessor, window_aggregation=teacher.window_aggregation)
    head = "logits" if teacher.num_classes > 1 else "score"
    if copy_head:
        student.get_layer(head).set_weights(teacher.get_layer(head).get_weights())
    description.update(student_layers=encoder.num_layers, hidden_dim=encoder.hidden_dim,
                       parameters=int(student.count_params()), teacher_parameters=int(teacher.count_params()))
    student.compile()
    return student, description
