"""Segment pairs for next-sentence prediction, built from tokenized documents as Google's BERT does.

`create_segment_pairs` follows `create_instances_from_document` of google-research/bert
`create_pretraining_data.py`: sentences are gathered up to a target length (`max_seq_length - 3`, or with
probability `short_seq_prob` a random shorter one), cut at a random sentence boundary into A and B, and B is
replaced by text from another document half of the time; the pair is then trimmed from the longer side, at a
random end. Two departures, both to give the 50/50 labels the task is defined with:

- Google forces a random B whenever the gathered chunk is a single sentence, which tilts its labels towards
  "random" (measured against it in tests/text/test_nsp_pairs.py). Here the label is drawn first; a
  single-sentence chunk with label "is next" is split inside the sentence (still contiguous text).
- Documents of one sentence cannot give an "is next" pair from sentence boundaries; they are skipped and
  counted (Google's script would emit only random-next pairs from them).

Sentences longer than `max_seq_length - 3` tokens are cut into pieces that fit (counted) instead of being
truncated away. Pure Python on token ids; the corpus is tokenized once, in batches, by `BertTokenizer`.
"""

import dataclasses
import logging
import random

import numpy as np

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class PairStats:
    """Counts of what pair building met (reported by the CLIs)."""

    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    empty_sentences: int = 0
    single_sentence_documents: int = 0
    long_sentences_split: int = 0
    pairs: int = 0
    random_next: int = 0
    split_inside_sentence: int = 0
    truncated_tokens: int = 0

    def as_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class SegmentPairs:
    """Pairs as ragged id rows: `a[i]`, `b[i]` (int32 arrays) and `is_random_next[i]` (0 or 1)."""

    a: list
    b: list
    is_random_next: np.ndarray

    def __len__(self):
        return len(self.a)

    def lengths(self):
        """Packed lengths with [CLS] and two [SEP]."""
        return np.array([len(a) + len(b) + 3 for a, b in zip(self.a, self.b)], np.int64)


def tokenize_documents(tokenizer, documents, batch_size=4096, progress=None):
    """Tokenizes documents of sentences into lists of int32 id arrays (empty sentences dropped).

    Args:
        tokenizer: a `BertTokenizer`.
        documents: list of lists of sentence strings.
        progress: optional callable(done_sentences, total_sentences).
    """
    flat = [s for document in documents for s in document]
    ids = []
    for start in range(0, len(flat), batch_size):
        ragged = tokenizer.tokenize(flat[start:start + batch_size])
        values = ragged.flat_values.numpy().astype(np.int32)
        splits = ragged.row_splits.numpy()
        ids.extend(values[splits[i]:splits[i + 1]] for i in range(len(splits) - 1))
        if progress:
            progress(min(start + batch_size, len(flat)), len(flat))
    out, cursor = [], 0
    for document in documents:
        out.append(ids[cursor:cursor + len(document)])
        cursor += len(document)
    return out


def _truncate_pair(a, b, max_num_tokens, rng):
    """Google's truncate_seq_pair: drop a token from the longer segment, at the front or back at random."""
    a, b = list(a), list(b)
    removed = 0
    while len(a) + len(b) > max_num_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()
        removed += 1
    return np.asarray(a, np.int32), np.asarray(b, np.int32), removed


def create_segment_pairs(tokenized_documents, max_seq_length, short_seq_prob=0.1, seed=12345, stats=None):
    """Builds NSP segment pairs from tokenized documents (see the module docstring for the algorithm).

    Args:
        tokenized_documents: list of documents, each a list of int id arrays (one per sentence).
        max_seq_length: packed length including [CLS] and two [SEP] (A + B <= max_seq_length - 3).
        short_seq_prob: probability of a document drawing a shorter random target length.
        seed: seed of Python's `random.Random` used for every choice.
        stats: optional `PairStats` to add counts to.

    Returns:
        `SegmentPairs`.

    Raises:
        ValueError: max_seq_length too small, or fewer than 2 usable documents (random next segments need
            another document).
    """
    if not isinstance(max_seq_length, int) or max_seq_length < 5:
        raise ValueError(f"max_seq_length must be an int >= 5 ([CLS] A [SEP] B [SEP]), got {max_seq_length!r}.")
    if not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError(f"short_seq_prob must be in [0, 1], got {short_seq_prob}.")
    stats = stats if stats is not None else PairStats()
    rng = random.Random(seed)
    max_num_tokens = max_seq_length - 3

    documents = []
    for document in tokenized_documents:
        stats.documents += 1
        sentences = []
        for sentence in document:
            sentence = np.asarray(sentence, np.int32)
            if len(sentence) == 0:
                stats.empty_sentences += 1
                continue
            stats.sentences += 1
            stats.tokens += len(sentence)
            if len(sentence) > max_num_tokens:
                stats.long_sentences_split += 1
                sentences.extend(sentence[i:i + max_num_tokens] for i in range(0, len(sentence), max_num_tokens))
            else:
                sentences.append(sentence)
        if len(sentences) == 1:
            stats.single_sentence_documents += 1
        if len(sentences) >= 2:
            documents.append(sentences)
    if stats.single_sentence_documents:
        logger.warning("Skipped %d documents of a single sentence: next-sentence pairs need two sentences. Use "
                       "--input_format=paragraphs if the files hold paragraphs rather than a sentence per line.",
                       stats.single_sentence_documents)
    if len(documents) < 2:
        raise ValueError(
            f"Need at least 2 documents of 2 or more sentences to build next-sentence pairs (random next segments "
            f"come from another document); found {len(documents)} of {stats.documents}. In Google's format, "
            "documents are separated by a blank line and each line is one sentence.")

    a_rows, b_rows, labels = [], [], []
    for doc_index, document in enumerate(documents):
        target = max_num_tokens
        if rng.random() < short_seq_prob:
            target = rng.randint(2, max_num_tokens)
        chunk, length, i = [], 0, 0
        while i < len(document):
            chunk.append(document[i])
            length += len(document[i])
            if i == len(document) - 1 or length >= target:
                random_next = rng.random() < 0.5
                a_end = 1 if len(chunk) == 1 else rng.randint(1, len(chunk) - 1)
                if not random_next and len(chunk) == 1:
                    sentence = chunk[0]
                    if len(sentence) < 2:
                        random_next = True
                    else:
                        cut = rng.randint(1, len(sentence) - 1)
                        a, b = sentence[:cut], sentence[cut:]
                        stats.split_inside_sentence += 1
                if random_next:
                    a = np.concatenate(chunk[:a_end])
                    target_b = max(1, target - len(a))
                    other = rng.randint(0, len(documents) - 2)
                    other += other >= doc_index
                    source = documents[other]
                    start = rng.randint(0, len(source) - 1)
                    b_parts, b_length = [], 0
                    for sentence in source[start:]:
                        b_parts.append(sentence)
                        b_length += len(sentence)
                        if b_length >= target_b:
                            break
                    b = np.concatenate(b_parts)
                    i -= len(chunk) - a_end  # the unused sentences of this chunk start the next one
                elif len(chunk) > 1:
                    a, b = np.concatenate(chunk[:a_end]), np.concatenate(chunk[a_end:])
                a, b, removed = _truncate_pair(a, b, max_num_tokens, rng)
                stats.truncated_tokens += removed
                if len(a) and len(b):
                    a_rows.append(a)
                    b_rows.append(b)
                    labels.append(int(random_next))
                    stats.pairs += 1
                    stats.random_next += int(random_next)
                chunk, length = [], 0
            i += 1
    order = list(range(len(a_rows)))
    rng.shuffle(order)
    return SegmentPairs([a_rows[i] for i in order], [b_rows[i] for i in order],
                        np.asarray([labels[i] for i in order], np.int32))
