import json
import os

import keras
import pytest

from trainers.finetune import FinetuneConfig, run


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory, minilm_dir):
    d = str(tmp_path_factory.mktemp("clf") / "model")
    run(FinetuneConfig(model_dir=d, dataset="rotten_tomatoes", max_train_examples=64, max_eval_examples=32,
                       config="tiny", vocab=os.path.join(minilm_dir, "vocab.txt"), seq_length=32, batch_size=16,
                       epochs=1, verbose=0))
    return d


def write_model_dir(directory, model, tokenizer, info):
    """A model directory laid out as trainers.finetune writes one (model.keras, label_map.json, vocab)."""
    os.makedirs(directory, exist_ok=True)
    model.save(os.path.join(directory, "model.keras"))
    tokenizer.save_assets(directory)
    with open(os.path.join(directory, "label_map.json"), "w", encoding="utf-8") as f:
        json.dump(info, f)
    return directory


@pytest.fixture(scope="session")
def tagger_dir(tmp_path_factory, minilm_tokenizer):
    """A tiny tagger with an untrained head: its predictions are all over the label set, so every BIO
    decoding path (B, I after O, I after another type) shows up in a few sentences."""
    from bert_keras import BertEncoder, BertTokenClassifier

    keras.utils.set_random_seed(3)
    labels = ["O", "B-location", "I-location", "B-person", "I-person", "B-product", "I-product"]
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    model = BertTokenClassifier(encoder, num_labels=len(labels))
    return write_model_dir(str(tmp_path_factory.mktemp("tagger") / "model"), model, minilm_tokenizer,
                           {"task": "tag", "labels": labels, "seq_length": 48, "dataset": None})


@pytest.fixture(scope="session")
def qa_dir(tmp_path_factory, minilm_tokenizer):
    """A tiny span-QA model (untrained head) set to seq 64 so real contexts need several windows."""
    from bert_keras import BertEncoder, BertSpanQA

    keras.utils.set_random_seed(4)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    return write_model_dir(str(tmp_path_factory.mktemp("qa") / "model"), BertSpanQA(encoder), minilm_tokenizer,
                           {"task": "qa", "labels": None, "seq_length": 64, "dataset": None, "doc_stride": 24,
                            "max_query_length": 16, "max_answer_length": 8, "version_2_with_negative": False})


@pytest.fixture(scope="session")
def probe_classifier_dir(tmp_path_factory, minilm_dir, minilm_tokenizer):
    """The real MiniLM encoder with a sentiment head fitted on its frozen pooled outputs of 2,000 Rotten
    Tomatoes reviews (a linear probe: about 0.65 test accuracy in 20 s, both classes predicted, real margins).
    Quantization checks need a model that discriminates; a 1-epoch fine-tune on that little data collapses
    to one class, which any quantized model "agrees" with."""
    import numpy as np

    from bert_keras import BertClassifier, BertEncoder
    from bert_keras.data import real_datasets

    keras.utils.set_random_seed(5)
    labels = ["fresh", "rotten"]
    encoder = BertEncoder.from_pretrained(minilm_dir)
    model = BertClassifier(encoder, num_classes=2)
    train = real_datasets.rotten_tomatoes()["train"][:2000]
    features = minilm_tokenizer([t for t, _ in train], seq_length=32)
    pooled = np.concatenate([encoder({k: v[i:i + 250] for k, v in features.items()})["pooled_output"].numpy()
                             for i in range(0, len(train), 250)])
    head = keras.Sequential([keras.Input(pooled.shape[1:]), keras.layers.Dense(2)])
    head.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    head.fit(pooled, np.array([labels.index(y) for _, y in train]), epochs=30, batch_size=100, verbose=0)
    model.get_layer("logits").set_weights(head.layers[-1].get_weights())
    return write_model_dir(str(tmp_path_factory.mktemp("probe") / "model"), model, minilm_tokenizer,
                           {"task": "classify", "labels": labels, "seq_length": 32, "dataset": "rotten_tomatoes"})


# Each model is exported once per session; tests only read the version directory (export.verify writes its
# report beside it, in the base directory).


@pytest.fixture(scope="session")
def classifier_export(classifier_dir, tmp_path_factory):
    """(base directory, path of version 1) of `classifier_dir` exported by `export_saved_model`."""
    from bert_keras.export.saved_model import export_saved_model

    base = str(tmp_path_factory.mktemp("classifier_export") / "export")
    return base, export_saved_model(classifier_dir, base)


@pytest.fixture(scope="session")
def tagger_export(tagger_dir, tmp_path_factory):
    from bert_keras.export.saved_model import export_saved_model

    return export_saved_model(tagger_dir, str(tmp_path_factory.mktemp("tagger_export") / "export"))


@pytest.fixture(scope="session")
def qa_export(qa_dir, tmp_path_factory):
    """The QA model exported with a window cap that no test context reaches (every window searched)."""
    from bert_keras.export.saved_model import export_saved_model

    return export_saved_model(qa_dir, str(tmp_path_factory.mktemp("qa_export") / "export"), qa_max_windows=1000)


@pytest.fixture(scope="session")
def windowed_classifier(minilm_tokenizer, tmp_path_factory):
    """A tiny classifier reading BBC-length articles in windows of 32 pieces (stride 16, at most 12), exported."""
    from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor

    keras.utils.set_random_seed(9)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    model = BertClassifier(encoder, labels=["business", "politics", "sport"], window_aggregation="mean",
                           preprocessor=BertTextPreprocessor(minilm_tokenizer, seq_length=34, long_document="windows",
                                                             window_stride=16, max_windows=12))
    return model, model.export(str(tmp_path_factory.mktemp("windows") / "export"))
