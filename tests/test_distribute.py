"""`build_strategy`: named strategies and the errors that say what to pass (the multi-worker reduction workaround is
checked end to end by tests/trainers/test_distribution.py, two worker processes against one)."""

import pytest
import tensorflow as tf

from bert_keras.distribute import build_strategy


def test_strategies_and_their_errors(monkeypatch):
    strategy, is_chief, worker = build_strategy("default")
    assert strategy is tf.distribute.get_strategy() and (is_chief, worker) == (True, 0)
    with pytest.raises(ValueError, match=r"Unknown --strategy 'horovod'; use one of \('default', 'mirrored'"):
        build_strategy("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="multi_worker needs the TF_CONFIG environment variable"):
        build_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}}')
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON with a 'task' entry"):
        build_strategy("multi_worker")
