import json

import pytest

from bert_keras import configs


def test_named_sizes_follow_bert_release():
    expected = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512), "base": (12, 768),
                "large": (24, 1024)}
    assert configs.config_names() == list(expected)
    for name, (layers, hidden) in expected.items():
        config = configs.named_config(name)
        assert (config["num_layers"], config["hidden_dim"]) == (layers, hidden)
        assert config["num_heads"] == hidden // 64
        assert config["intermediate_dim"] == 4 * hidden


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown BERT config name 'huge'.*'tiny'.*'large'"):
        configs.named_config("huge")


def test_unknown_override_is_refused():
    with pytest.raises(ValueError, match="hidden_size"):
        configs.named_config("tiny", hidden_size=3)


def test_json_round_trip(tmp_path):
    config = configs.named_config("mini", vocab_size=1000, activation="gelu_approximate")
    path = tmp_path / "bert_config.json"
    path.write_text(json.dumps(configs.encoder_config_to_json(config)))
    assert configs.encoder_config_from_json(str(path)) == config


@pytest.mark.parametrize("change, message", [
    ({"model_type": "roberta"}, "model_type is 'roberta'"),
    ({"position_embedding_type": "relative_key"}, "position_embedding_type"),
    ({"hidden_act": "swish"}, "hidden_act 'swish'"),
])
def test_other_architectures_are_refused(tmp_path, change, message):
    raw = configs.encoder_config_to_json(configs.named_config("tiny"))
    raw.update(change)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=message):
        configs.encoder_config_from_json(str(path))


def test_config_without_sizes_is_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "bert", "vocab_size": 10}))
    with pytest.raises(ValueError, match="hidden_size"):
        configs.encoder_config_from_json(str(path))
