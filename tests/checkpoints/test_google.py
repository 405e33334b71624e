from bert_keras.checkpoints import google
from tests.helpers import tiny_encoder


def test_weight_map_covers_every_encoder_variable_once():
    encoder = tiny_encoder(num_layers=3)
    pairs = google.encoder_weight_map(encoder)
    mapped = [id(v) for v, _ in pairs]
    assert len(mapped) == len(set(mapped)) == len(encoder.weights)
    names = [n for _, group in pairs for n in group]
    assert sorted(names) == sorted(google.encoder_tensor_names(3))
    assert len(names) == len(set(names)) == 5 + 3 * 16 + 2


def test_optimizer_state_recognised():
    assert google.is_optimizer_state("bert/embeddings/word_embeddings/adam_m")
    assert google.is_optimizer_state("global_step")
    assert not google.is_optimizer_state("bert/embeddings/word_embeddings")
