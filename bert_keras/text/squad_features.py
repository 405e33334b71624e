"""Span-QA features: question + context windows (`doc_stride`), answer labels, and n-best answer extraction.

`BertSpanQA.fit` trains on these windows; its `predict` (and the export) answer with the in-graph search of
`bert_keras.text.answer_decoding`, which gives the answers `extract_answers` gives with `n_best >= seq_length`
(tested); `extract_answers` also returns the n-best list.

Long contexts are split into overlapping windows like Google's `run_squad.py`; every window holds the whole
(truncated) question. An answer that is not fully inside a window is labelled [CLS] (index 0) there, which
is also the label of unanswerable questions (SQuAD 2.0). Answers map back through the tokenizer's byte
offsets to the exact original substring of the context.

Windowing runs in Python over the tokenizer's (in-graph) output; the number of windows per example varies.
"""

import collections

import numpy as np


# Google's run_squad.py defaults, the one place they are set (trainers.finetune's flags and the export read them).
DOC_STRIDE = 128
MAX_QUERY_LENGTH = 64
MAX_ANSWER_LENGTH = 30


def _windows(num_tokens, max_context, doc_stride):
    start, spans = 0, []
    while True:
        length = min(max_context, num_tokens - start)
        spans.append((start, length))
        if start + length >= num_tokens:
            return spans
        start += min(length, doc_stride)


def build_qa_features(tokenizer, examples, seq_length=384, doc_stride=DOC_STRIDE, max_query_length=MAX_QUERY_LENGTH):
    """Tokenizes and windows `SquadExample`s.

    Returns:
        dict of numpy arrays, one row per window: `input_word_ids`, `input_mask`, `input_type_ids`
        [N, seq_length]; `start_positions`, `end_positions` [N]; `example_index` [N]; `context_start`,
        `context_end` [N, seq_length] (UTF-8 byte span of each context token in its context, -1 elsewhere).
    """
    if doc_stride < 1:
        raise ValueError(f"doc_stride must be >= 1, got {doc_stride}.")
    questions = tokenizer.tokenize([e.question for e in examples]).to_list()
    ids, starts, ends = (r.to_list() for r in tokenizer.tokenize_with_offsets([e.context for e in examples]))
    rows = collections.defaultdict(list)
    for index, example in enumerate(examples):
        question = questions[index][:max_query_length]
        max_context = seq_length - len(question) - 3
        if max_context < 1:
            raise ValueError(f"seq_length={seq_length} leaves no room for context after a {len(question)}-token "
                             "question; raise seq_length or lower max_query_length.")
        c_ids, c_start, c_end = ids[index], starts[index], ends[index]
        answer_tokens = None
        if example.answers and not example.is_impossible:
            text, char_start = example.answers[0]
            byte_start = len(example.context[:char_start].encode("utf-8"))
            byte_end = byte_start + len(text.encode("utf-8"))
            inside = [i for i in range(len(c_ids)) if c_end[i] > byte_start and c_start[i] < byte_end]
            if inside:
                answer_tokens = (inside[0], inside[-1])
        offset = len(question) + 2
        for window_start, length in _windows(len(c_ids), max_context, doc_stride):
            word_ids = ([tokenizer.cls_id] + question + [tokenizer.sep_id] + c_ids[window_start:window_start + length]
                        + [tokenizer.sep_id])
            used = len(word_ids)
            pad = seq_length - used
            context_start = [-1] * offset + c_start[window_start:window_start + length] + [-1] * (pad + 1)
            context_end = [-1] * offset + c_end[window_start:window_start + length] + [-1] * (pad + 1)
            start_pos = end_pos = 0
            if answer_tokens and window_start <= answer_tokens[0] and answer_tokens[1] < window_start + length:
                start_pos = answer_tokens[0] - window_start + offset
                end_pos = answer_tokens[1] - window_start + offset
            rows["input_word_ids"].append(word_ids + [tokenizer.pad_id] * pad)
            rows["input_mask"].append([1] * used + [0] * pad)
            rows["input_type_ids"].append([0] * offset + [1] * (used - offset) + [0] * pad)
            rows["start_positions"].append(start_pos)
            rows["end_positions"].append(end_pos)
            rows["example_index"].append(index)
            rows["context_start"].append(context_start)
            rows["context_end"].append(context_end)
    return {k: np.asarray(v, np.int32) for k, v in rows.items()}


def extract_answers(examples, features, start_logits, end_logits, n_best=20, max_answer_length=MAX_ANSWER_LENGTH,
                    allow_no_answer=False, null_score_margin=0.0):
    """Best answer per example across its windows.

    Args:
        examples: the `SquadExample`s given to `build_qa_features`.
        features: its output.
        start_logits, end_logits: [N, seq_length] model outputs for those windows.
        n_best: start and end candidates considered per window.
        max_answer_length: longest answer, in tokens.
        allow_no_answer: SQuAD 2.0: answer "" when the [CLS] score beats the best span by `null_score_margin`.

    Returns:
        {qid: {"text", "start", "end", "score", "n_best": [(text, score)]}}, with `start`/`end` character
        offsets into the context such that `context[start:end] == text` ("" and -1 for no answer).
    """
    start_logits, end_logits = np.asarray(start_logits, float), np.asarray(end_logits, float)
    by_example = collections.defaultdict(list)
    for row, index in enumerate(features["example_index"]):
        by_example[int(index)].append(row)
    results = {}
    for index, example in enumerate(examples):
        context_bytes = example.context.encode("utf-8")
        candidates, null_score = [], None
        for row in by_example.get(index, []):
            s_logits, e_logits = start_logits[row], end_logits[row]
            c_start, c_end = features["context_start"][row], features["context_end"][row]
            score = s_logits[0] + e_logits[0]
            null_score = score if null_score is None else min(null_score, score)
            for s in np.argsort(s_logits)[::-1][:n_best]:
                if c_start[s] < 0:
                    continue
                for e in np.argsort(e_logits)[::-1][:n_best]:
                    if c_end[e] < 0 or e < s or e - s + 1 > max_answer_length:
                        continue
                    candidates.append((s_logits[s] + e_logits[e], int(c_start[s]), int(c_end[e])))
        candidates.sort(key=lambda c: -c[0])
        seen, n_best_list = set(), []
        for score, b_start, b_end in candidates:
            text = context_bytes[b_start:b_end].decode("utf-8")
            if (b_start, b_end) not in seen:
                seen.add((b_start, b_end))
                n_best_list.append((text, float(score), b_start, b_end))
            if len(n_best_list) == n_best:
                break
        if n_best_list and not (allow_no_answer and null_score is not None
                                and null_score > n_best_list[0][1] + null_score_margin):
            text, score, b_start, b_end = n_best_list[0]
            start = len(context_bytes[:b_start].decode("utf-8"))
            answer = {"text": text, "start": start, "end": start + len(text), "score": score}
        else:
            answer = {"text": "", "start": -1, "end": -1, "score": float(null_score or 0.0)}
        answer["n_best"] = [(t, s) for t, s, _, _ in n_best_list]
        results[example.qid] = answer
    return results
