"""In-graph span QA: (question, context) strings -> answer text, character offsets and score.

The one decoding of a span-QA model's answers: `BertSpanQA.predict` runs it per batch, and the QA export's
`serving_default` is the same function in the SavedModel.

The graph does what `bert_keras.text.squad_features` does in Python, with dense core ops: the question is cut to
`max_query_length` tokens; the context is split into windows of `seq_length - question - 3` tokens that start
every `min(doc_stride, window)` tokens (Google's `run_squad.py` windowing); all windows of the batch run through
the model as one batch; in each window the best span maximises `start_logit + end_logit` over context tokens
with `start <= end < start + max_answer_length` (searched exhaustively, so it is at least as good as run_squad's
top-20 x top-20); the best window wins. With `allow_no_answer` (SQuAD 2.0) the answer is "" when the lowest
[CLS] score of the example's windows beats the best span. Offsets are characters into the context, so
`context[start:end] == answer`.

`max_windows` caps the windows per example (contexts past `max_windows` windows are not searched), so one
huge context cannot hold a server for minutes; the number of windows searched is an output.
"""

import tensorflow as tf

from bert_keras.text import squad_features
from bert_keras.text.entity_decoding import char_offsets


def _flat(ragged):
    return tf.cast(ragged.flat_values, tf.int32), tf.cast(ragged.row_splits, tf.int32)


def qa_outputs(tokenizer, model, questions, contexts, seq_length, doc_stride=squad_features.DOC_STRIDE,
               max_query_length=squad_features.MAX_QUERY_LENGTH, max_answer_length=squad_features.MAX_ANSWER_LENGTH,
               allow_no_answer=False, max_windows=32, trim=False):
    """Answers for a batch of (question, context) pairs.

    Args:
        tokenizer, model: the model's `BertTokenizer` and a `BertSpanQA`.
        questions, contexts: string [B] each.
        seq_length, doc_stride, max_query_length, max_answer_length, allow_no_answer: the windowing and answer
            search above (`bert_keras.text.squad_features` has the defaults).
        max_windows: windows searched per example at most.
        trim: run the model on the longest window of the batch only, not on `seq_length` columns.

    Returns:
        dict: `answer` [B] string; `start`, `end` [B] int32 character offsets into the context (-1 for no
        answer); `score` [B] float32 (start + end logit of the answer, or the [CLS] score for no answer);
        `no_answer_score` [B]; `windows` [B] int32, the windows searched.
    """
    if seq_length - max_query_length - 3 < 1:
        raise ValueError(f"seq_length={seq_length} leaves no room for context after a {max_query_length}-token "
                         "question; raise seq_length or lower max_query_length.")
    questions = tokenizer.string_batch(questions)
    contexts = tokenizer.string_batch(contexts)
    tf.debugging.assert_equal(tf.shape(questions)[0], tf.shape(contexts)[0],
                              message="question and context must have the same number of elements")
    q_values, q_splits = _flat(tokenizer.tokenize(questions))
    c_ids, c_start, c_end = tokenizer.tokenize_with_offsets(contexts)
    c_values, c_splits = _flat(c_ids)
    c_start_values, c_end_values = tf.cast(c_start.flat_values, tf.int32), tf.cast(c_end.flat_values, tf.int32)

    q_len = tf.minimum(q_splits[1:] - q_splits[:-1], max_query_length)
    c_len = c_splits[1:] - c_splits[:-1]
    room = seq_length - q_len - 3
    step = tf.minimum(room, doc_stride)
    extra = tf.maximum(c_len - room, 0)
    windows = tf.minimum(1 + (extra + step - 1) // step, max_windows)

    example = tf.repeat(tf.range(tf.shape(windows)[0]), windows)  # [W]
    k = tf.range(tf.shape(example)[0]) - tf.gather(tf.cumsum(windows, exclusive=True), example)
    lq = tf.gather(q_len, example)[:, tf.newaxis]
    w_start = (k * tf.gather(step, example))[:, tf.newaxis]
    w_len = tf.minimum(tf.gather(room, example)[:, tf.newaxis], tf.gather(c_len, example)[:, tf.newaxis] - w_start)
    pos = tf.range(seq_length)[tf.newaxis, :]
    in_q = (pos >= 1) & (pos <= lq)
    in_c = (pos >= lq + 2) & (pos < lq + 2 + w_len)
    used = lq + 3 + w_len

    def gather(values, first, inside):
        values = tf.concat([values, tf.zeros([1], tf.int32)], axis=0)
        return tf.gather(values, tf.where(inside, first + pos, tf.shape(values)[0] - 1))

    c_first = tf.gather(c_splits, example)[:, tf.newaxis] + w_start - lq - 2
    q_first = tf.gather(q_splits, example)[:, tf.newaxis] - 1
    specials = tf.where(pos == 0, tokenizer.cls_id,
                        tf.where((pos == lq + 1) | (pos == used - 1), tokenizer.sep_id, tokenizer.pad_id))
    word_ids = tf.where(in_q, gather(q_values, q_first, in_q),
                        tf.where(in_c, gather(c_values, c_first, in_c), tf.cast(specials, tf.int32)))
    features = {"input_word_ids": word_ids, "input_mask": tf.cast(pos < used, tf.int32),
                "input_type_ids": tf.cast((pos >= lq + 2) & (pos < used), tf.int32)}
    byte_start = gather(c_start_values, c_first, in_c)
    byte_end = gather(c_end_values, c_first, in_c)
    if trim:  # positions past every window's end are padding in all of them
        width = tf.maximum(tf.reduce_max(tf.concat([used[:, 0], [1]], 0)), 1)
        features = {name: value[:, :width] for name, value in features.items()}
        byte_start, byte_end, in_c = byte_start[:, :width], byte_end[:, :width], in_c[:, :width]

    logits = model(features, training=False)
    start_logits = tf.cast(logits["start_logits"], tf.float32)
    end_logits = tf.cast(logits["end_logits"], tf.float32)
    # Span (s, s + d) for d < max_answer_length: end logits shifted left by d, [W, S, D].
    # (Padded, then cut: right for a width below max_answer_length too.)
    shifted = tf.stack([tf.pad(end_logits, [[0, 0], [0, d]], constant_values=-1e9)[:, d:]
                        for d in range(max_answer_length)], axis=-1)
    in_c_shifted = tf.stack([tf.pad(in_c, [[0, 0], [0, d]])[:, d:] for d in range(max_answer_length)], axis=-1)
    valid = in_c[:, :, tf.newaxis] & in_c_shifted
    scores = tf.where(valid, start_logits[:, :, tf.newaxis] + shifted, -float("inf"))
    flat = tf.reshape(scores, [tf.shape(scores)[0], -1])
    best = tf.argmax(flat, axis=1, output_type=tf.int32)
    window_score = tf.reduce_max(flat, axis=1)
    best_start = best // max_answer_length
    best_end = best_start + best % max_answer_length
    window_null = start_logits[:, 0] + end_logits[:, 0]

    batch = tf.shape(windows)[0]
    span_score = tf.math.unsorted_segment_max(window_score, example, batch)
    null_score = tf.math.unsorted_segment_min(window_null, example, batch)
    # The first window reaching the example's best score.
    candidates = tf.where(window_score >= tf.gather(span_score, example), tf.range(tf.shape(example)[0]),
                          tf.shape(example)[0])
    winner = tf.minimum(tf.math.unsorted_segment_min(candidates, example, batch), tf.shape(example)[0] - 1)
    rows = tf.stack([winner, tf.gather(best_start, winner)], axis=1)
    answer_byte_start = tf.gather_nd(byte_start, rows)
    answer_byte_end = tf.gather_nd(byte_end, tf.stack([winner, tf.gather(best_end, winner)], axis=1))
    # Not `span_score > -inf`: segment max starts from the lowest float, not -inf.
    found = tf.math.unsorted_segment_max(tf.cast(tf.reduce_any(in_c, axis=1), tf.int32), example, batch) > 0
    if allow_no_answer:
        found = found & ~(null_score > span_score)
    answer_byte_start = tf.where(found, answer_byte_start, 0)
    answer_byte_end = tf.where(found, answer_byte_end, 0)
    chars = char_offsets(contexts, tf.stack([answer_byte_start, answer_byte_end], axis=1))
    return {
        "answer": tf.where(found, tf.strings.substr(contexts, answer_byte_start, answer_byte_end - answer_byte_start,
                                                    unit="BYTE"), ""),
        "start": tf.where(found, chars[:, 0], -1),
        "end": tf.where(found, chars[:, 1], -1),
        "score": tf.where(found, span_score, null_score),
        "no_answer_score": null_score,
        "windows": windows,
    }
