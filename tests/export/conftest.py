import os

import pytest

from trainers.finetune import FinetuneConfig, run


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory, minilm_dir):
    d = str(tmp_path_factory.mktemp("clf") / "model")
    run(FinetuneConfig(model_dir=d, dataset="rotten_tomatoes", max_train_examples=64, max_eval_examples=32,
                       config="tiny", vocab=os.path.join(minilm_dir, "vocab.txt"), seq_length=32, batch_size=16,
                       epochs=1, verbose=0))
    return d
