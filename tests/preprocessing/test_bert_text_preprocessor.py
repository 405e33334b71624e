import numpy as np
import pytest
import tensorflow as tf

from bert_keras import BertTokenizer
from bert_keras.preprocessing import BertTextPreprocessor, text_column
from tests.helpers import real_reviews


@pytest.fixture(scope="module")
def reviews():
    return real_reviews(300)[0]


def _rows(features):
    """Each row's real ids (mask 1), as tuples: what does not depend on the padding width."""
    ids, mask = features["input_word_ids"].numpy(), features["input_mask"].numpy()
    types = features["input_type_ids"].numpy()
    return [(tuple(i[m == 1]), tuple(t[m == 1])) for i, t, m in zip(ids, types, mask)]


@pytest.mark.parametrize("pairs", [False, True])
def test_batches_hold_the_fixed_length_features_at_their_own_width(minilm_tokenizer, reviews, pairs):
    preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=128, pad_to_multiple_of=8)
    pair_texts = reviews[::-1] if pairs else None
    dataset, batches, order = preprocessor.dataset(reviews, pair_texts, batch_size=32)
    assert batches == 10 and order.tolist() == list(range(300))
    fixed = minilm_tokenizer(reviews, pair_texts, seq_length=128)
    got, widths = [], []
    for features in dataset:
        width = features["input_word_ids"].shape[1]
        longest = int(features["input_mask"].numpy().sum(1).max())
        assert width % 8 == 0
        assert longest <= width < longest + 8
        widths.append(width)
        got += _rows(features)
    assert got == _rows(fixed)
    assert max(widths) <= 128 and min(widths) <= (96 if pairs else 64)  # reviews: 26 tokens on average


def test_sort_by_length_batches_in_length_order_and_returns_the_order(minilm_tokenizer, reviews):
    preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=64)
    labels = np.arange(300)
    dataset, _, order = preprocessor.dataset(reviews, targets=(labels,), batch_size=50, sort_by_length=True)
    lengths = minilm_tokenizer(reviews, seq_length=64)["input_mask"].numpy().sum(1)
    assert sorted(order.tolist()) == list(range(300))
    assert (np.diff(lengths[order]) >= 0).all()
    seen = np.concatenate([y.numpy() for _, y in dataset])
    np.testing.assert_array_equal(seen, order)  # targets travel with their rows


def test_training_order_is_grouped_by_length_seeded_and_new_each_epoch(minilm_tokenizer):
    texts = real_reviews(2000)[0]
    preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=128, pad_to_multiple_of=1)
    ids = np.arange(len(texts))

    def epochs(seed):
        dataset, batches, order = preprocessor.dataset(texts, targets=(ids,), batch_size=8, shuffle=True, seed=seed)
        assert order is None and batches == 250
        return [[(y.numpy(), f["input_mask"].numpy()) for f, y in dataset] for _ in range(2)]

    first, second = epochs(7)
    for epoch in (first, second):
        np.testing.assert_array_equal(np.sort(np.concatenate([y for y, _ in epoch])), ids)  # each example once
    assert not np.array_equal(np.concatenate([y for y, _ in first]), np.concatenate([y for y, _ in second]))
    again, _ = epochs(7)
    np.testing.assert_array_equal(np.concatenate([y for y, _ in first]), np.concatenate([y for y, _ in again]))
    padding = 1 - np.mean([m.mean() for _, m in first])
    ungrouped, _, _ = preprocessor.dataset(texts, batch_size=8, shuffle=True, seed=7, group_by_length=False)
    padding_ungrouped = 1 - np.mean([f["input_mask"].numpy().mean() for f in ungrouped])
    assert padding < padding_ungrouped / 3, (padding, padding_ungrouped)


def test_call_pads_one_batch_to_its_longest_row():
    tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world"])
    preprocessor = BertTextPreprocessor(tokenizer, seq_length=16, pad_to_multiple_of=4)
    features = preprocessor(["hello world", "hello"], ["world", "hello world world"])
    assert features["input_word_ids"].numpy().tolist() == [[2, 4, 5, 3, 5, 3, 0, 0], [2, 4, 3, 4, 5, 5, 3, 0]]
    assert features["input_type_ids"].numpy().tolist() == [[0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1, 1, 0]]
    capped = BertTextPreprocessor(tokenizer, seq_length=6, pad_to_multiple_of=4)(["hello " * 20])
    assert capped["input_word_ids"].shape == (1, 6)


def test_config_round_trip(minilm_tokenizer):
    import keras

    preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=32, pad_to_multiple_of=16)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(preprocessor))
    assert (clone.seq_length, clone.pad_to_multiple_of) == (32, 16)
    assert clone.tokenizer.vocabulary == minilm_tokenizer.vocabulary
    text = ["Café au lait, 北京!"]
    assert _rows(clone(text)) == _rows(preprocessor(text))


def test_refusals(minilm_tokenizer):
    with pytest.raises(ValueError, match="tokenizer must be a bert_keras BertTokenizer"):
        BertTextPreprocessor("vocab.txt")
    with pytest.raises(ValueError, match=r"seq_length must be an int >= 4 \(room for .*\), got 2"):
        BertTextPreprocessor(minilm_tokenizer, seq_length=2)
    with pytest.raises(ValueError, match="pad_to_multiple_of must be a positive int, got 0"):
        BertTextPreprocessor(minilm_tokenizer, pad_to_multiple_of=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        BertTextPreprocessor(minilm_tokenizer).dataset(["a"], batch_size=0)
    with pytest.raises(ValueError, match=r"wrap a single text in a list: \['a film'\]"):
        text_column("a film")
    with pytest.raises(ValueError, match=r"texts\[1\] is int 3, not a string"):
        text_column(["a", 3])
    with pytest.raises(ValueError, match="must hold strings, got dtype int64"):
        text_column(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"must be 1-D .* got shape \(1, 2\)"):
        text_column([["a", "b"]])
    with pytest.raises(ValueError, match="texts is empty"):
        text_column([])
    with pytest.raises(ValueError, match="head_tokens=8 applies to long_document='head_tail', not 'truncate': drop"):
        BertTextPreprocessor(minilm_tokenizer, seq_length=32, head_tokens=8)
    with pytest.raises(ValueError, match="window_stride=8 applies to long_document='windows', not 'head_tail'"):
        BertTextPreprocessor(minilm_tokenizer, seq_length=32, long_document="head_tail", window_stride=8)
    assert text_column(tf.constant(["x", "y"])).tolist() == [b"x", b"y"]
    with pytest.raises(ValueError, match=r"texts\[1\] cannot be encoded as UTF-8 .*character 4: '\\ud800'"):
        text_column(["fine", "bad \ud800 text"])
    with pytest.raises(ValueError, match=r"got a dict \(keys \['input_word_ids'\]\).*model.preprocessor = None"):
        text_column({"input_word_ids": np.ones((1, 4), "int32")})
    with pytest.raises(ValueError, match=r"For sentence pairs pass a tuple of two lists, \(texts_a, texts_b\)"):
        text_column([("a", "b"), ("c", "d")])
    with pytest.raises(ValueError, match=r"got set: wrap it in list\(...\)"):
        text_column({"a", "b"})


def _articles(n=6):
    from bert_keras.data import real_corpora

    return [". ".join([title] + body) for _, title, body in list(real_corpora.bbc_news())[:n]]


def test_head_tail_keeps_the_first_and_last_pieces(minilm_tokenizer):
    articles = _articles()
    preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=32, long_document="head_tail", head_tokens=7)
    pieces = minilm_tokenizer.tokenize(articles).to_list()
    for row, text in zip(_rows(preprocessor(articles)), pieces):
        assert len(text) > 30 and list(row[0]) == [minilm_tokenizer.cls_id] + text[:7] + text[-23:] + [
            minilm_tokenizer.sep_id]
    assert BertTextPreprocessor(minilm_tokenizer, seq_length=32, long_document="head_tail").window_settings[0] == 30


def test_windows_read_every_piece_and_map_rows_to_their_text(minilm_tokenizer):
    articles = _articles() + ["A short one."]
    preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=34, long_document="windows", window_stride=16,
                                        max_windows=64)
    labels = np.arange(len(articles))
    dataset, batches, order = preprocessor.dataset(articles, targets=(labels,), batch_size=8, sort_by_length=True)
    rows = [(row, int(label)) for features, label_batch in dataset
            for row, label in zip(_rows(features), label_batch.numpy())]
    assert len(rows) == len(order) and [label for _, label in rows] == order.tolist()  # each window its text's
    pieces = minilm_tokenizer.tokenize(articles).to_list()
    for d, text in enumerate(pieces):
        windows = sorted(tuple(row[0][1:-1]) for row, label in rows if label == d)
        count = 1 + max(0, -(-(len(text) - 32) // 16))
        assert windows == sorted(tuple(text[16 * k:16 * k + 32]) for k in range(count))  # every piece read
    features, document, counts, capped = BertTextPreprocessor(
        minilm_tokenizer, seq_length=34, long_document="windows", max_windows=2).windows(articles)
    assert counts.numpy().max() == 2 and capped.numpy()[:-1].all() and not capped.numpy()[-1]
    assert features["input_word_ids"].shape[0] == len(document) == counts.numpy().sum()


def test_long_document_refusals(minilm_tokenizer):
    with pytest.raises(ValueError, match="long_document must be one of .* got 'sliding'"):
        BertTextPreprocessor(minilm_tokenizer, long_document="sliding")
    with pytest.raises(ValueError, match=r"window_stride must be an int in \[1, 30\] .* got 31"):
        BertTextPreprocessor(minilm_tokenizer, seq_length=32, long_document="windows", window_stride=31)
    windows = BertTextPreprocessor(minilm_tokenizer, seq_length=32, long_document="windows")
    with pytest.raises(ValueError, match="takes single texts; sentence pairs are truncated"):
        windows.dataset(["a"], ["b"])
    with pytest.raises(ValueError, match=r"call preprocessor.windows\(texts\)"):
        windows(["a"])


def test_tokenize_many_equals_one_call_across_its_chunks(minilm_tokenizer, reviews):
    texts = (list(reviews) * 14)[:4100]  # two chunks: 4,096 + 4
    preprocessor = BertTextPreprocessor(minilm_tokenizer, seq_length=16)
    many = preprocessor.tokenize_many(texts)
    whole = minilm_tokenizer.tokenize(texts)
    assert many.shape[0] == 4100
    np.testing.assert_array_equal(many.row_lengths().numpy(), whole.row_lengths().numpy())
    np.testing.assert_array_equal(many.flat_values.numpy(), whole.flat_values.numpy())
    assert int(many.row_lengths().numpy().max()) > 16  # untruncated: seq_length does not apply
    assert preprocessor.tokenize_many([]).shape[0] == 0
