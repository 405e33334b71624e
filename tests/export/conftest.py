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
