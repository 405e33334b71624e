"""`BertDistiller`: Keras's distillation loss checked against the KL computed by hand, the label / soft-target mix,
the hidden-state and attention losses against numpy, training on real reviews with texts the teacher labels, and
every refusal."""

import keras
import numpy as np
import pytest

from bert_keras import BertClassifier, BertEncoder, BertTextPreprocessor, BertTokenizer
from bert_keras.distillation import BertDistiller, student_from_teacher
from bert_keras.distillation import bert_distiller
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
    student_before = {w.path: w.numpy().copy() for w in student.trainable_weights}
    history = distiller.fit(texts, labels, unlabeled=plots, batch_size=32, epochs=2, verbose=0,
                            validation_data=(texts[:32], labels[:32]))
    assert distiller.optimizer.iterations.numpy() == 2 * 4  # (96 + 32) texts / 32, two epochs
    # The student trains, every weight of it (this random teacher gives nothing to learn in 8 steps: the loss is
    # at chance before and after, so its order says nothing).
    assert all(np.isfinite(history.history["loss"]))
    moved = [path for path, old in student_before.items()
             if not np.array_equal(old, next(w for w in student.trainable_weights if w.path == path).numpy())]
    assert sorted(moved) == sorted(student_before)
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


def _narrow_student(teacher, hidden_dim=64, num_heads=2):
    """A 1-block student narrower than the teacher (so the hidden loss needs the learned map), dropout off."""
    config = {**teacher.encoder.encoder_config(), "num_layers": 1, "hidden_dim": hidden_dim, "num_heads": num_heads,
              "intermediate_dim": 4 * hidden_dim, "dropout": 0.0, "attention_dropout": 0.0}
    return BertClassifier(BertEncoder(**config), labels=teacher.labels, dropout=0.0, preprocessor=teacher.preprocessor)


def test_hidden_state_and_attention_losses_equal_numpy(teacher, batch):
    """Labels + 0.7 x hidden-state MSE (through the learned map, real tokens only) + 0.3 x attention KL, with the
    uniform layer map of a 2-block teacher and a 1-block student: embeddings <- embeddings, block 0 <- block 1."""
    x, y = batch
    keras.utils.set_random_seed(4)
    student = _narrow_student(teacher)
    distiller = BertDistiller(teacher, student, alpha=1.0, hidden_weight=0.7, attention_weight=0.3)
    assert distiller.layer_map == [1]
    distiller.compile()
    mask = np.asarray(x["input_mask"], "float64")
    assert mask.min() == 0  # the batch has padding, which both losses must leave out
    t_hidden, t_probs = [[np.asarray(a, "float64") for a in part] for part in teacher.encoder.layer_outputs(x)]
    s_hidden, s_probs = [[np.asarray(a, "float64") for a in part] for part in student.encoder.layer_outputs(x)]
    projection = np.asarray(distiller.hidden_projection.kernel, "float64")  # [64, 128]

    def mse(s, t):
        per_token = ((s @ projection - t) ** 2).mean(-1)
        return (per_token * mask).sum() / mask.sum()

    hidden = (mse(s_hidden[0], t_hidden[0]) + mse(s_hidden[1], t_hidden[2])) / 2
    p, q = t_probs[1], s_probs[0]  # [batch, heads, query, key]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    attention = (terms.sum(-1) * mask[:, None, :]).sum() / (mask.sum() * p.shape[1])
    labels = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, student(x, training=False)))
    assert hidden > 0.1 and attention > 1e-4  # different models: neither term is trivially 0
    loss = float(distiller.compute_loss(x, y, training=False))
    np.testing.assert_allclose(loss, labels + 0.7 * hidden + 0.3 * attention, rtol=1e-5)
    result = {m.name: float(m.result()) for m in distiller.metrics if m.name in ("hidden_loss", "attention_loss")}
    np.testing.assert_allclose([result["hidden_loss"], result["attention_loss"]], [hidden, attention], rtol=1e-5)


def test_layer_losses_train_the_student_and_the_map_in_one_pass_per_model(teacher, monkeypatch):
    """Keras calls the model, then compute_loss, on one x: the student's layers run once per step (as many
    student passes as teacher passes are traced), the learned map trains with the student, the teacher stays."""
    passes = []
    original = bert_distiller._task_pass
    monkeypatch.setattr(bert_distiller, "_task_pass",
                        lambda model, inputs, training: passes.append(model.name) or original(model, inputs, training))
    texts, labels = real_reviews(64, seed=2)
    keras.utils.set_random_seed(6)
    student = _narrow_student(teacher)
    distiller = BertDistiller(teacher, student, alpha=0.5, hidden_weight=1.0, attention_weight=1.0)
    distiller.compile(learning_rate=1e-3)
    teacher_before = [w.numpy().copy() for w in teacher.weights]
    map_before = distiller.hidden_projection.kernel.numpy().copy()
    history = distiller.fit(texts, labels, batch_size=32, epochs=3, verbose=0)
    assert passes and passes.count(student.name) == passes.count(teacher.name)
    assert history.history["hidden_loss"][-1] < history.history["hidden_loss"][0]
    assert history.history["attention_loss"][-1] < history.history["attention_loss"][0]
    assert not np.allclose(map_before, distiller.hidden_projection.kernel.numpy())
    for old, new in zip(teacher_before, teacher.weights):
        np.testing.assert_array_equal(old, new.numpy())
    assert "hidden_projection" not in [layer.name for layer in student.layers]  # the student stays a plain model


def test_layer_loss_settings_are_checked(teacher):
    student = _narrow_student(teacher, num_heads=4)
    cases = [({"attention_weight": 1.0}, "needs as many heads in the student as in the teacher \\(2\\)"),
             ({"hidden_weight": -0.1}, "hidden_weight must be a number >= 0"),
             ({"attention_weight": "1"}, "attention_weight must be a number >= 0"),
             ({"hidden_weight": 1.0, "layer_map": [2]}, r"layer_map must give one teacher block in \[0, 2\)"),
             ({"hidden_weight": 1.0, "layer_map": [0, 1]}, "for each of the student's 1 blocks")]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            BertDistiller(teacher, student, **kwargs)
    same_width, _ = student_from_teacher(teacher, student_layers=1, precision="float32")
    distiller = BertDistiller(teacher, same_width, hidden_weight=1.0, layer_map=[0])
    assert distiller.hidden_projection is None and distiller.layer_map == [0]
    assert distiller.get_config()["layer_map"] == [0] and distiller.get_config()["hidden_weight"] == 1.0


def test_a_student_without_label_names_takes_the_teachers(teacher, minilm_tokenizer):
    texts, labels = real_reviews(16, seed=5)  # names: "fresh" / "rotten"
    student = BertClassifier(BertEncoder.from_config_name("tiny", vocab_size=minilm_tokenizer.vocab_size),
                             num_classes=2, preprocessor=teacher.preprocessor)
    distiller = BertDistiller(teacher, student)
    distiller.compile(learning_rate=1e-3)
    distiller.fit(texts, labels, batch_size=8, verbose=0)  # refused once names needed a named student
    assert student.labels == teacher.labels  # the teacher's class order, which its soft targets follow
