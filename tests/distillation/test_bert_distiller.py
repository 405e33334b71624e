"""`BertDistiller`: Keras's distillation loss checked against the KL computed by hand, the label / soft-target mix,
training on real reviews with texts the teacher labels, and every refusal."""

import keras
import numpy as np
import pytest

from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor, BertTokenizer
from bert_keras.distillation import BertDistiller, student_from_teacher
from tests.helpers import real_reviews


@pytest.fixture(scope="module")
def teacher(minilm_tokenizer):
    keras.utils.set_random_seed(3)
    encoder = BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size)
    return BertClassifier(encoder, labels=["fresh", "rotten"], preprocessor=BertTextPreprocessor(minilm_tokenizer, 32))


@pytest.fixture(scope="module")
def batch(teacher):
    texts, labels = real_reviews(16, seed=11)
    (targets,) = teacher._targets(labels)
    features = next(iter(teacher.text_dataset(texts, targets, batch_size=16)[0]))
    return features[0], features[1].numpy()


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_soft_target_loss_is_t_squared_kl_of_the_softmaxes(teacher, batch, temperature):
    x, y = batch
    student, _ = student_from_teacher(teacher, student_config="tiny", precision="float32")
    head = student.get_layer("logits")
    head.kernel.assign(head.kernel * 40.0)  # logits of order 1 (random tiny models agree on ~uniform outputs)
    distiller = BertDistiller(teacher, student, temperature=temperature, alpha=0.0)
    distiller.compile()
    t = np.asarray(teacher(x, training=False), "float64") / temperature
    s = np.asarray(student(x, training=False), "float64") / temperature
    assert np.abs(t - s).max() > 0.5  # different models: the loss is not trivially 0
    p, q = _softmax(t), _softmax(s)
    by_hand = temperature ** 2 * np.mean(np.sum(p * np.log(p / q), axis=-1))
    loss = float(distiller.compute_loss(x, y, y_pred=student(x, training=False), training=False))
    np.testing.assert_allclose(loss, by_hand, rtol=1e-5)


def test_alpha_mixes_label_loss_and_soft_targets(teacher, batch):
    x, y = batch
    student, _ = student_from_teacher(teacher, student_config="tiny", precision="float32")
    logits = student(x, training=False)
    losses = {}
    for alpha in (0.0, 0.3, 1.0):
        distiller = BertDistiller(teacher, student, temperature=2.0, alpha=alpha)
        distiller.compile()
        losses[alpha] = float(distiller.compute_loss(x, y, y_pred=logits, training=False))
    cross_entropy = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits))
    np.testing.assert_allclose(losses[1.0], cross_entropy, rtol=1e-6)
    np.testing.assert_allclose(losses[0.3], 0.3 * losses[1.0] + 0.7 * losses[0.0], rtol=1e-5)


def test_fit_on_real_reviews_with_unlabeled_texts_the_teacher_labels(teacher):
    from bert_keras.data.unlabeled_texts import unlabeled_texts

    texts, labels = real_reviews(96, seed=2)
    plots = unlabeled_texts("rotten_tomatoes_plots", limit=32)
    student, _ = student_from_teacher(teacher, student_layers=1, precision="float32")
    distiller = BertDistiller(teacher, student, temperature=2.0, alpha=0.5)
    assert distiller.teacher_labels(plots).tolist() == teacher.predict(plots, verbose=0).argmax(-1).tolist()
    distiller.compile(learning_rate=1e-3)
    before = [w.numpy().copy() for w in teacher.weights]
    history = distiller.fit(texts, labels, unlabeled=plots, batch_size=32, epochs=2, verbose=0,
                            validation_data=(texts[:32], labels[:32]))
    assert distiller.optimizer.iterations.numpy() == 2 * 4  # (96 + 32) texts / 32, two epochs
    assert history.history["loss"][1] < history.history["loss"][0]
    assert {"val_loss", "val_accuracy", "distillation_loss", "student_loss"} <= set(history.history)
    for old, new in zip(before, teacher.weights):  # the teacher is frozen
        np.testing.assert_array_equal(old, new.numpy())
    assert student.predict(texts[:4], verbose=0).shape == (4, 2)
    result = distiller.evaluate(texts[:32], labels[:32], verbose=0, return_dict=True)
    assert 0.0 <= result["accuracy"] <= 1.0


def test_regression_distils_the_score_by_squared_error(minilm_tokenizer, batch):
    x, y = batch
    keras.utils.set_random_seed(5)
    teacher = BertClassifier(BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size),
                             num_classes=1, preprocessor=BertTextPreprocessor(minilm_tokenizer, 32))
    student, _ = student_from_teacher(teacher, student_config="tiny", precision="float32")
    distiller = BertDistiller(teacher, student, alpha=0.0)
    distiller.compile()
    expected = np.mean((np.asarray(teacher(x)) - np.asarray(student(x))) ** 2)
    np.testing.assert_allclose(float(distiller.compute_loss(x, y.astype("float32"), y_pred=student(x))), expected,
                               rtol=1e-5)


def test_refusals_name_the_problem(teacher, minilm_tokenizer):
    student, _ = student_from_teacher(teacher, student_layers=1, precision="float32")
    other_vocab = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"])
    stranger = BertClassifier(BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size),
                              labels=["fresh", "rotten"], preprocessor=BertTextPreprocessor(other_vocab, 32))
    three = BertClassifier(BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size),
                           num_classes=3, preprocessor=BertTextPreprocessor(minilm_tokenizer, 32))
    cases = [((teacher, stranger), {}, "different vocabularies"),
             ((teacher, three), {}, "2 outputs and the student 3"),
             ((teacher, student.encoder), {}, "student must be a BertClassifier"),
             ((teacher, student), {"temperature": 0}, "temperature must be a positive number"),
             ((teacher, student), {"alpha": 1.5}, r"alpha \(the weight of the label loss\) must be in \[0, 1\]")]
    for args, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            BertDistiller(*args, **kwargs)
    student.preprocessor = None
    with pytest.raises(ValueError, match="student needs a preprocessor"):
        BertDistiller(teacher, student)
