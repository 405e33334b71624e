"""EncoderTask: LoRA (which weights train, merged saving and export), plain copies, gradient accumulation."""

import numpy as np
import keras
import pytest

from bert_keras import BertClassifier, BertTextPreprocessor, BertTokenizer
from tests.helpers import load_in_fresh_process, random_features, real_reviews, tiny_encoder


@pytest.fixture(scope="module")
def reviews():
    return real_reviews(96, seed=3)


def _text_classifier(minilm_dir, seed=0):
    keras.utils.set_random_seed(seed)
    tokenizer = BertTokenizer.from_pretrained(minilm_dir)
    return BertClassifier(tiny_encoder(vocab_size=tokenizer.vocab_size, max_sequence_length=32),
                          labels=["fresh", "rotten"], dropout=0.0,
                          preprocessor=BertTextPreprocessor(tokenizer, seq_length=32))


def _variable_names(model):
    return [v.path for v in model.weights]


def test_lora_trains_only_factors_layer_norms_and_head_and_saves_merged(minilm_dir, reviews, tmp_path):
    texts, labels = reviews
    model = _text_classifier(minilm_dir)
    before = model.predict(texts[:16], verbose=0)
    frozen = {v.path: v.numpy().copy() for v in model.encoder.weights}
    trainable, total = model.enable_lora(4)
    # B starts at zero: the model is unchanged until it trains.
    np.testing.assert_array_equal(model.predict(texts[:16], verbose=0), before)
    names = sorted(v.path for v in model.trainable_variables)
    assert trainable == sum(int(np.prod(v.shape)) for v in model.trainable_variables) and total > trainable
    # 2 blocks x 4 adapted matmuls x (A, B); 2 LayerNorms a block + the embeddings' (gamma, beta); the pooler and
    # the head.
    assert sum("lora_kernel" in n for n in names) == 16
    assert sum("layer_norm" in n for n in names) == 10
    rest = {n for n in names if "lora_kernel" not in n and "layer_norm" not in n}
    assert {n.split("/")[-1] for n in rest if "pooler" in n} == {"kernel", "bias"}
    assert {n for n in rest if "pooler" not in n} == {"logits/kernel", "logits/bias"}
    model.compile(learning_rate=5e-3)
    model.fit(texts, labels, batch_size=16, epochs=2, verbose=0)
    after = model.predict(texts[:16], verbose=0)
    assert np.abs(after - before).max() > 1e-3  # it trained
    for v in model.encoder.weights:  # the frozen weights did not move; only LayerNorms, pooler and factors did
        if v.path in frozen and "layer_norm" not in v.path and "pooler" not in v.path:
            np.testing.assert_array_equal(v.numpy(), frozen[v.path], err_msg=v.path)

    path = str(tmp_path / "lora.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert not any("lora" in n for n in _variable_names(loaded))
    np.testing.assert_allclose(loaded.predict(texts[:16], verbose=0), after, atol=1e-5)
    copy = model.plain_copy()
    assert not any("lora" in n for n in _variable_names(copy)) and getattr(copy, "optimizer", None) is None
    np.testing.assert_allclose(copy.predict(texts[:16], verbose=0), after, atol=1e-5)

    export = model.export(str(tmp_path / "export"))
    import tensorflow as tf

    served = tf.saved_model.load(export)
    assert served.variables and not any("lora" in v.name for v in served.variables)
    assert sum(int(np.prod(v.shape)) for v in served.variables) == sum(int(np.prod(w.shape)) for w in copy.weights)
    out = load_in_fresh_process(export, {"serving_default": {"text": texts[:16]}}, tmp_path)
    for loader in ("tf1", "tf2"):
        np.testing.assert_allclose(out[f"{loader}/serving_default/probabilities"], after, atol=1e-5)


def test_lora_refusals(minilm_dir, reviews):
    model = _text_classifier(minilm_dir)
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError, match=f"LoRA rank must be a positive integer, got {bad!r}"):
            model.enable_lora(bad)
    with pytest.raises(ValueError, match="LoRA rank 17 exceeds the smallest adapted dimension \\(16\\)"):
        model.enable_lora(17)
    model.compile(learning_rate=1e-3)
    model.fit(reviews[0][:16], reviews[1][:16], batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="enable_lora must come before the first fit"):
        model.enable_lora(2)


def test_auto_learning_rate_follows_lora_and_refuses_bad_values(minilm_dir, reviews):
    from bert_keras.models.encoder_task import (FULL_FINETUNING_LEARNING_RATE, LORA_LEARNING_RATE,
                                                recipe_peak_learning_rate as peak)

    full = _text_classifier(minilm_dir)
    full.compile()
    assert peak(full) == FULL_FINETUNING_LEARNING_RATE == 5e-5
    lora_first = _text_classifier(minilm_dir)
    lora_first.enable_lora(2)
    lora_first.compile()
    assert peak(lora_first) == LORA_LEARNING_RATE == 2e-3
    # from_pretrained compiles before a user may enable LoRA: "auto" follows, up to the first fit.
    lora_after = _text_classifier(minilm_dir)
    lora_after.compile(gradient_accumulation_steps=2)
    lora_after.enable_lora(2)
    assert peak(lora_after) == LORA_LEARNING_RATE
    lora_after.fit(reviews[0][:16], reviews[1][:16], batch_size=4, verbose=0)
    lr_at_peak = float(lora_after.optimizer._learning_rate(lora_after.optimizer._learning_rate.warmup_steps))
    assert lr_at_peak == pytest.approx(LORA_LEARNING_RATE)
    # An explicit rate stays what the user said, LoRA or not.
    explicit = _text_classifier(minilm_dir)
    explicit.compile(learning_rate=1e-4)
    explicit.enable_lora(2)
    assert peak(explicit) == 1e-4
    explicit.compile(optimizer=keras.optimizers.SGD(0.1))
    assert peak(explicit) is None  # the user's own optimizer: no recipe peak to report
    for bad in (0, -1e-3, float("nan"), "fast", True, None):
        with pytest.raises(ValueError, match=f"learning_rate must be a positive number or 'auto', got {bad!r}"):
            full.compile(learning_rate=bad)


def test_plain_copy_changes_precision_and_shares_nothing(minilm_dir, reviews):
    model = _text_classifier(minilm_dir)
    texts = reviews[0][:8]
    bf16 = model.plain_copy(dtype="mixed_bfloat16")
    assert bf16.encoder.embeddings.dtype_policy.name == "mixed_bfloat16"
    assert model.encoder.embeddings.dtype_policy.name == "float32"
    np.testing.assert_allclose(bf16.predict(texts, verbose=0), model.predict(texts, verbose=0), atol=0.05)
    copy = model.plain_copy()
    copy.encoder.weights[0].assign(copy.encoder.weights[0] + 1.0)
    assert not np.allclose(copy.encoder.weights[0].numpy(), model.encoder.weights[0].numpy())


def test_int8_quantized_model_copies_exports_and_serves(minilm_dir, reviews, tmp_path):
    # Keras's Model.quantize("int8") on our classifier: every dense layer of the encoder quantizes (FusedDense
    # included), the [CLS]-only last block reads the scaled weights, and the export (built on plain_copy) carries
    # the quantized layers to TF Serving's loader with the Keras model's numbers.
    model = _text_classifier(minilm_dir)
    texts = reviews[0][:16]
    reference = model.predict(texts, verbose=0)
    model.quantize("int8")
    dense = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dense)]
    assert dense and all(layer.quantization_mode == "int8" for layer in dense)
    quantized = model.predict(texts, verbose=0)
    assert np.abs(quantized - reference).max() < 0.05
    copy = model.plain_copy()
    np.testing.assert_allclose(copy.predict(texts, verbose=0), quantized, atol=1e-6)
    path = model.export(str(tmp_path / "int8"), explain_steps=0)
    out = load_in_fresh_process(path, {"serving_default": {"text": list(texts)}}, tmp_path)
    for loader in ("tf1", "tf2"):
        np.testing.assert_allclose(out[f"{loader}/serving_default/probabilities"], quantized, atol=1e-4)


def _accumulation_run(batch_size, accumulation_steps, features, labels, init_weights):
    model = BertClassifier(tiny_encoder(), num_classes=2, dropout=0.0)
    model.set_weights(init_weights)
    model.compile(learning_rate=2e-3, warmup_ratio=0.25, gradient_accumulation_steps=accumulation_steps)
    means = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: means.append((batch, logs["loss"])))
    model.fit(features, labels, batch_size=batch_size, epochs=2, shuffle=False, verbose=0, callbacks=[record])
    # Keras logs the running mean of the epoch: recover each batch's own loss.
    losses, previous = [], 0.0
    for batch, mean in means:
        losses.append((batch + 1) * mean - batch * previous)
        previous = mean if batch + 1 < len(means) // 2 else 0.0
    return model, np.array(losses)


def test_gradient_accumulation_equals_the_large_batch():
    """Batch 32 versus 4 micro-batches of 8 with accumulation: the same losses and weights (dropout off, same
    order), learning-rate schedule included."""
    features = random_features(batch=64, seq=12, seed=5, pad_from=10)
    labels = np.arange(64) % 2
    keras.utils.set_random_seed(0)
    init = BertClassifier(tiny_encoder(), num_classes=2, dropout=0.0).get_weights()
    large, large_losses = _accumulation_run(32, None, features, labels, init)
    small, small_losses = _accumulation_run(8, 4, features, labels, init)
    assert len(large_losses) == 4 and len(small_losses) == 16
    np.testing.assert_allclose(small_losses.reshape(4, 4).mean(1), large_losses, atol=1e-5)
    assert int(small.optimizer.iterations) == int(large.optimizer.iterations) == 4
    schedule, small_schedule = large.optimizer._learning_rate, small.optimizer._learning_rate
    assert (small_schedule.total_steps, small_schedule.warmup_steps) == (schedule.total_steps, schedule.warmup_steps)
    for a, b in zip(small.weights, large.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, err_msg=a.path)
    # It did train: the weights moved from their start.
    assert max(np.abs(w - i).max() for w, i in zip(large.get_weights(), init)) > 1e-3
    with pytest.raises(ValueError, match="gradient_accumulation_steps must be an integer >= 1"):
        large.compile(gradient_accumulation_steps=0)
    with pytest.raises(ValueError, match="gradient_accumulation_steps goes with optimizer='auto'"):
        large.compile(optimizer="sgd", gradient_accumulation_steps=2)


def test_sequence_heads_freeze_the_unused_pooler(recwarn):
    from bert_keras import BertSpanQA, BertTextEmbedder, BertTokenClassifier

    keras.utils.set_random_seed(0)
    tagger = BertTokenClassifier(tiny_encoder(), num_labels=3, dropout=0.0)
    for model in (tagger, BertSpanQA(tiny_encoder()), BertTextEmbedder(tiny_encoder())):
        assert not any("pooler" in v.path for v in model.trainable_variables), type(model).__name__
    classifier = BertClassifier(tiny_encoder(), num_classes=2)
    assert sum("pooler" in v.path for v in classifier.trainable_variables) == 2  # its head reads the pooler

    features = random_features(batch=8, seq=10)
    tags = np.random.default_rng(0).integers(0, 3, (8, 10)).astype("int32")

    def missing_gradient_warnings():
        found = [w for w in recwarn if "Gradients do not exist" in str(w.message)]
        recwarn.clear()
        return found

    tagger.compile(learning_rate=1e-3)
    before = [v.numpy().copy() for v in tagger.encoder.pooler.weights]
    tagger.fit(features, tags, batch_size=4, epochs=1, verbose=0)
    assert not missing_gradient_warnings()
    for value, v in zip(before, tagger.encoder.pooler.weights):
        np.testing.assert_array_equal(v.numpy(), value)
    # The control: a trainable pooler under the same head gets no gradient, and Keras says so.
    control = BertTokenClassifier(tiny_encoder(), num_labels=3, dropout=0.0)
    for v in control.encoder.pooler.weights:
        v.trainable = True
    control.compile(learning_rate=1e-3)
    control.fit(features, tags, batch_size=4, epochs=1, verbose=0)
    assert any("pooler" in str(w.message) for w in missing_gradient_warnings())
    # LoRA keeps the pooler frozen where no head reads it, and trainable where one does.
    lora_tagger = BertTokenClassifier(tiny_encoder(), num_labels=3)
    lora_tagger.enable_lora(2)
    assert not any("pooler" in v.path for v in lora_tagger.trainable_variables)
    classifier.enable_lora(2)
    assert sum("pooler" in v.path for v in classifier.trainable_variables) == 2


def test_text_inputs_are_refused_before_any_work_and_leave_the_model_as_it_was(minilm_dir, reviews, tmp_path):
    import tensorflow as tf

    texts, labels = reviews
    texts, labels = texts[:8], labels[:8]
    model = _text_classifier(minilm_dir)
    model.compile()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=f"batch_size must be a positive integer or None .*got {bad!r}"):
            model.predict(texts, batch_size=bad, verbose=0)
    assert model.predict(texts, batch_size=np.int64(3), verbose=0).shape == (8, 2)  # numpy ints, as Keras takes
    with pytest.raises(ValueError, match=r"predict on texts answers every text .* no steps \(got steps=1\)"):
        model.predict(texts, steps=1, verbose=0)  # was ignored
    for weights, shown in (([1.0] * 7 + [np.nan], "nan"), ([1.0] * 7 + [-2.0], "-2.0")):
        with pytest.raises(ValueError, match=rf"sample_weight\[7\] is {shown}: sample weights must be finite and >= 0"):
            model.fit(texts, labels, sample_weight=weights, verbose=0)
    with pytest.raises(ValueError, match=r"need the targets: BertClassifier.fit\(texts, labels\)"):
        model.fit(texts, None, verbose=0)
    with pytest.raises(ValueError, match="need the targets"):
        model.evaluate(texts, verbose=0)
    with pytest.raises(ValueError, match="need the targets"):  # validation texts without labels: refused up front,
        model.fit(texts, labels, validation_data=texts, verbose=0)
    assert int(model.optimizer.iterations) == 0  # not after an epoch of training
    with pytest.raises(ValueError, match="legacy HDF5 format keeps neither the preprocessor's vocab nor the label"):
        model.save(str(tmp_path / "model.h5"))

    dataset = tf.data.Dataset.from_tensor_slices
    np.testing.assert_allclose(model.predict(dataset(texts).batch(3), verbose=0), model.predict(texts, verbose=0),
                               atol=1e-6)  # a dataset of texts alone is predict's
    with pytest.raises(ValueError, match="this dataset holds texts without labels"):
        model.fit(dataset(texts), verbose=0)
    with pytest.raises(ValueError, match="The dataset is empty"):
        model.fit(dataset((texts, labels)).take(0), verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight component is .*string.*pairs go as \(\(text_a, text_b\), label\)"):
        model.fit(dataset((texts, texts, labels)), verbose=0)

    # Refused inputs do not name an unnamed model's classes; only fit's own targets name them.
    unnamed = BertClassifier(tiny_encoder(vocab_size=model.preprocessor.tokenizer.vocab_size, max_sequence_length=32),
                             num_classes=2, preprocessor=model.preprocessor)
    unnamed.compile()
    with pytest.raises(ValueError, match="8 texts but 2 labels"):
        unnamed.fit(texts, ["x", "y"], verbose=0)
    assert unnamed.labels is None
    with pytest.raises(ValueError, match=r"no label names, so its targets are class ids .*got names \['fresh', 'rotten'\]"):
        unnamed.evaluate(texts, labels, verbose=0)
    assert unnamed.labels is None


def test_class_weight_by_label_name_equals_by_id(minilm_dir, reviews):
    texts, labels = reviews
    losses = []
    for class_weight in ({"fresh": 1.0, "rotten": 3.0}, {0: 1.0, 1: 3.0}, None):
        model = _text_classifier(minilm_dir, seed=1)
        model.compile(learning_rate=1e-3)
        losses.append(model.fit(texts[:32], labels[:32], batch_size=8, class_weight=class_weight,
                                verbose=0).history["loss"][0])
    assert losses[0] == pytest.approx(losses[1], rel=1e-6) and losses[0] != pytest.approx(losses[2], rel=1e-3)
    with pytest.raises(ValueError, match=r"class_weight names 'neutral', not one of the model's labels"):
        model.fit(texts[:8], labels[:8], class_weight={"neutral": 2.0}, verbose=0)
    unnamed = BertClassifier(tiny_encoder(vocab_size=model.preprocessor.tokenizer.vocab_size, max_sequence_length=32),
                             num_classes=2, preprocessor=model.preprocessor)
    unnamed.compile()
    with pytest.raises(ValueError, match="class_weight names 'neutral'"):
        unnamed.fit(texts[:8], labels[:8], class_weight={"neutral": 2.0}, verbose=0)
    assert unnamed.labels is None  # the refused fit does not name the classes


def test_datasets_of_unknown_rank_are_read_one_text_each(minilm_dir, reviews):
    import tensorflow as tf

    texts, labels = reviews
    model = _text_classifier(minilm_dir)
    model.compile()
    rows = list(zip(texts[:8], labels[:8]))
    signature = (tf.TensorSpec(None, tf.string), tf.TensorSpec(None, tf.string))  # from_generator: rank unknown
    dataset = tf.data.Dataset.from_generator(lambda: iter(rows), output_signature=signature)
    history = model.fit(dataset, batch_size=4, verbose=0)
    assert int(model.optimizer.iterations) == 2 and np.isfinite(history.history["loss"][0])
