"""`student_from_teacher`: DistilBERT's layer choice, exact copies of the teacher's layers, and refusals."""

import keras
import numpy as np
import pytest

from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor, BertTokenClassifier
from bert_keras.distillation import student_from_teacher, teacher_layers_to_keep
from tests.helpers import real_reviews


@pytest.fixture(scope="module")
def teacher(minilm_tokenizer):
    keras.utils.set_random_seed(1)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size, num_layers=4)
    return BertClassifier(encoder, labels=["fresh", "rotten"], preprocessor=BertTextPreprocessor(minilm_tokenizer, 48))


def test_every_kth_layer_as_distilbert():
    assert teacher_layers_to_keep(12, 6) == [0, 2, 4, 6, 8, 10]
    assert teacher_layers_to_keep(6, 3) == [0, 2, 4]
    assert teacher_layers_to_keep(6, 6) == list(range(6))
    with pytest.raises(ValueError, match="not smaller than its teacher"):
        teacher_layers_to_keep(6, 7)
    with pytest.raises(ValueError, match="student_layers must be a positive int"):
        teacher_layers_to_keep(6, 0)


def test_student_takes_the_teachers_layers_exactly(teacher):
    student, made = student_from_teacher(teacher, student_layers=2, precision="float32")
    assert made["teacher_layers"] == [0, 2] and made["init"] == "teacher_layers"
    assert student.labels == teacher.labels and student.preprocessor is teacher.preprocessor
    for i, block in zip([0, 2], student.encoder.transformer_blocks):
        for a, b in zip(block.weights, teacher.encoder.transformer_blocks[i].weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(student.get_layer("logits").weights + student.encoder.embeddings.weights,
                    teacher.get_layer("logits").weights + teacher.encoder.embeddings.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # All of the teacher's layers: the same model, the same probabilities on real reviews.
    whole, _ = student_from_teacher(teacher, student_layers=4, precision="float32")
    texts, _ = real_reviews(8, seed=4)
    np.testing.assert_allclose(whole.predict(texts, verbose=0), teacher.predict(texts, verbose=0), atol=1e-6)
    assert made["parameters"] < made["teacher_parameters"]


def test_named_size_and_checkpoint_students(teacher, minilm_dir):
    student, made = student_from_teacher(teacher, student_config="mini", precision="float32")
    assert (student.encoder.num_layers, student.encoder.hidden_dim, made["init"]) == (4, 256, "random")
    assert student.encoder.vocab_size == teacher.encoder.vocab_size
    pretrained, made = student_from_teacher(teacher, student_checkpoint=minilm_dir, precision="float32")
    assert pretrained.encoder.num_layers == 6 and made["init"] == "checkpoint"


def test_refusals(teacher, minilm_tokenizer, tmp_path):
    with pytest.raises(ValueError, match="exactly one of student_layers, student_config, student_checkpoint"):
        student_from_teacher(teacher, student_layers=2, student_config="tiny")
    with pytest.raises(ValueError, match="exactly one of"):
        student_from_teacher(teacher)
    tagger = BertTokenClassifier(BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size),
                                 labels=["O", "B-X", "I-X"])
    with pytest.raises(ValueError, match="BertClassifier teacher"):
        student_from_teacher(tagger, student_layers=1)
    bare = BertClassifier(teacher.encoder, num_classes=2)
    with pytest.raises(ValueError, match="has no preprocessor"):
        student_from_teacher(bare, student_layers=1)
    from bert_keras import save_google_checkpoint

    other = BertEncoder.from_config_name("tiny", vocab_size=6)
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n")
    save_google_checkpoint(other, str(tmp_path / "ckpt"), vocab_path=str(tmp_path / "vocab.txt"))
    with pytest.raises(ValueError, match="another vocabulary"):
        student_from_teacher(teacher, student_checkpoint=str(tmp_path / "ckpt"))
