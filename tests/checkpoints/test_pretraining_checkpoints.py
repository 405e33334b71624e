"""`PretrainingCheckpoints`: every epoch's Google checkpoint loads back as the model that wrote it; old ones go."""

import os

import numpy as np
import pytest

from bert_keras import BertEncoder, BertPretrainer
from bert_keras.checkpoints.pretraining_checkpoints import PretrainingCheckpoints


def test_each_epoch_writes_a_checkpoint_that_loads_back_and_keeps_the_newest(tmp_path):
    model = BertPretrainer(BertEncoder.from_config_name("tiny", vocab_size=60, max_sequence_length=16,
                                                        dropout=0.0, attention_dropout=0.0))
    model.compile(loss=model.default_loss())
    rng = np.random.default_rng(0)
    x = {"input_word_ids": rng.integers(5, 60, (4, 8)).astype("int32"), "input_mask": np.ones((4, 8), "int32"),
         "input_type_ids": np.zeros((4, 8), "int32"), "masked_lm_positions": np.ones((4, 2), "int32")}
    y = {"mlm": rng.integers(5, 60, (4, 2)).astype("int32"), "nsp": np.array([0, 1, 0, 1])}
    out = str(tmp_path / "pretrained")
    model.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[PretrainingCheckpoints(out, 2, keep=2)])
    steps = sorted(int(n.split("-")[1].split(".")[0]) for n in os.listdir(out) if n.endswith(".index"))
    assert steps == [4, 6]  # 2 steps an epoch; the first epoch's checkpoint is past keep=2
    again = BertPretrainer.from_pretrained(out)  # the newest, as `checkpoint` points to it
    for key in ("mlm", "nsp"):
        np.testing.assert_allclose(again(x)[key], model(x)[key], atol=1e-5)
    for bad in ({"steps_per_epoch": 0}, {"steps_per_epoch": 2, "keep": 0}):
        with pytest.raises(ValueError, match="must be a positive int"):
            PretrainingCheckpoints(out, **{"steps_per_epoch": 1, **bad})
