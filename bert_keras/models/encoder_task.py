"""`EncoderTask`: the base of the task models, a functional model around a `BertEncoder`, saved with it.

It gives every task model keras-hub's Task conventions: a `preprocessor` that the model owns and saves
(`preprocessor=None` opens the id path, where the model takes the dicts of int32 ids), `compile()` with the
fine-tuning recipe as its defaults (fused AdamW, warmup + linear decay sized from the `fit` call, the task's
loss and metrics), and `fit` / `evaluate` / `predict` on raw text. Keras's own `Model.fit` does the training:
the text path only builds the `tf.data` pipeline (`BertTextPreprocessor.dataset`: each batch padded to its
longest row, batches grouped by length when training) and hands it over.
"""

import logging
import math

import keras
import numpy as np
import tensorflow as tf

from bert_keras.models.bert_encoder import INPUT_NAMES

logger = logging.getLogger(__name__)

# The peak learning rates of `compile(learning_rate="auto")`: full fine-tuning at Devlin et al.'s 5e-5, and LoRA at
# 2e-3. LoRA trains 2% of the weights from a zero start and needs a larger step: on Rotten Tomatoes (MiniLM, rank 8,
# 2 epochs, seed 0, `tools/rotten_tomatoes_api.py`) 5e-5 reached 0.768 test accuracy, 5e-4 0.830, 1e-3 0.825,
# 2e-3 0.830 with the best dev accuracy (0.839), against 0.845 for full fine-tuning.
FULL_FINETUNING_LEARNING_RATE = 5e-5
LORA_LEARNING_RATE = 2e-3


def check_batch_size(batch_size, default):
    """`batch_size` as an int (`default` for None); a ValueError naming it unless it is a positive integer
    (numpy integers too, as Keras takes them)."""
    if batch_size is None:
        return default
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None (the default, {default}), got "
                         f"{batch_size!r}.")
    return int(batch_size)


def check_learning_rate(learning_rate):
    """`learning_rate` if it is "auto" or a positive number; a ValueError naming it otherwise."""
    if isinstance(learning_rate, str) and learning_rate == "auto":
        return learning_rate
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating, np.integer)) \
            or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number or 'auto', got {learning_rate!r}.")
    return float(learning_rate)


def encoder_inputs():
    """The three int32 [batch, seq] Keras inputs, under their TF Hub names."""
    return {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}


def recipe_optimizer(model, optimizer, learning_rate, warmup_ratio, weight_decay, gradient_accumulation_steps):
    """`optimizer`, or for "auto" the fine-tuning recipe's (fused AdamW, warmup + linear decay, decay except on
    biases and LayerNorm, clipping), whose schedule `size_recipe_schedule` sizes at the first `fit`; records on
    `model` which it is. `EncoderTask.compile` and `BertDistiller.compile` share it."""
    from bert_keras.optimizers import create_optimizer

    model._schedule_from_fit = isinstance(optimizer, str) and optimizer == "auto"
    if model._schedule_from_fit:
        optimizer = create_optimizer("adamw", learning_rate, total_steps=1, warmup_ratio=warmup_ratio,
                                     weight_decay=weight_decay, gradient_accumulation_steps=gradient_accumulation_steps)
        model._warmup_ratio = warmup_ratio
    return optimizer


def size_recipe_schedule(model, total_steps):
    """Sets the "auto" schedule's length before `model`'s first training step (its values are traced in): its
    epochs times its batches, counted in updates; a later `fit` continues the schedule the first one sized."""
    if not getattr(model, "_schedule_from_fit", False) or total_steps is None:
        return
    schedule = model.optimizer._learning_rate
    done = int(model.optimizer.iterations.numpy())
    if done > 0:
        if done >= schedule.total_steps:
            logger.warning("The learning-rate schedule ended at step %d: this fit trains at learning rate %g. "
                           "Call compile() again for a new warmup + decay schedule.", schedule.total_steps,
                           schedule.end)
        return
    # `total_steps` counts batches; the schedule counts updates (one per `accumulation_steps` batches).
    schedule.total_steps = max(1, int(total_steps) // schedule.accumulation_steps)
    schedule.warmup_steps = int(round(model._warmup_ratio * schedule.total_steps))


def recipe_peak_learning_rate(model):
    """The peak learning rate of `model`'s recipe schedule (compiled with optimizer="auto", "auto" resolved), or
    None for a model compiled with an optimizer of its own or not compiled."""
    if not getattr(model, "_schedule_from_fit", False):
        return None
    return model.optimizer._learning_rate.peak


class EncoderTask(keras.Model):
    """Base of the task models: serializes `encoder` and `preprocessor` in the config, trains on text.

    Subclasses list their own constructor arguments in `task_config`, their loss in `default_loss` and their
    Keras metrics in `default_metrics`; text tasks set `self.preprocessor` and implement `_text_inputs` (x ->
    text columns), `_targets` (y -> arrays) and `_finish_predictions`.
    """

    DEFAULT_BATCH_SIZE = 32
    TEXT_TASK = False  # True: the constructor takes `preprocessor`, saved in the config
    USES_POOLER = False  # True: a head reads `pooled_output`; otherwise the constructor freezes the pooler

    def _freeze_unused_pooler(self):
        """A head on `sequence_output` never reads the encoder's pooler: its variables are marked not
        trainable, so that `fit` neither warns that no gradient reaches them nor keeps optimizer slots for them.
        (The encoder's own variables: an encoder shared with a pooled-output head needs them trainable again.)"""
        if not self.USES_POOLER:
            for variable in self.encoder.pooler.weights:
                variable.trainable = False

    def task_config(self):
        return {}

    def default_loss(self):
        return None

    def default_metrics(self):
        return None

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable,
                  "encoder": keras.saving.serialize_keras_object(self.encoder), **self.task_config()}
        if self.TEXT_TASK:
            config["preprocessor"] = (None if self.preprocessor is None
                                      else keras.saving.serialize_keras_object(self.preprocessor))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        if config.get("preprocessor") is not None:
            config["preprocessor"] = keras.saving.deserialize_keras_object(config["preprocessor"])
        return cls(**config)

    # ------------------------------------------------------------------------------------------ preprocessor

    @property
    def preprocessor(self):
        return getattr(self, "_preprocessor", None)

    @preprocessor.setter
    def preprocessor(self, preprocessor):
        if preprocessor is not None:
            tokenizer = getattr(preprocessor, "tokenizer", None)
            if tokenizer is None:
                raise ValueError(f"preprocessor must be a bert_keras preprocessor (with a tokenizer) or None, got "
                                 f"{type(preprocessor).__name__}.")
            if tokenizer.vocab_size > self.encoder.vocab_size:
                raise ValueError(
                    f"The tokenizer's vocabulary has {tokenizer.vocab_size} tokens but the encoder's embedding "
                    f"table has {self.encoder.vocab_size} rows: ids >= {self.encoder.vocab_size} would fail on CPU "
                    "and read zeros on GPU. Use the vocab.txt that came with the checkpoint, or build the encoder "
                    f"with vocab_size={tokenizer.vocab_size}.")
            if preprocessor.seq_length > self.encoder.max_sequence_length:
                raise ValueError(
                    f"The preprocessor's seq_length={preprocessor.seq_length} exceeds the encoder's "
                    f"max_sequence_length={self.encoder.max_sequence_length}; pass seq_length <= "
                    f"{self.encoder.max_sequence_length}.")
            self._check_preprocessor(preprocessor)
        self._preprocessor = preprocessor

    def _check_preprocessor(self, preprocessor):
        """A task's own refusals of a preprocessor (raise `ValueError`), at construction and at assignment."""

    @staticmethod
    def _load_pretrained(path, seq_length, dropout, precision="auto", **encoder_kwargs):
        """(encoder, tokenizer) of a checkpoint directory or hub id, checked against each other; the encoder
        computes in `precision` (`bert_keras.precision.resolve_precision`)."""
        from bert_keras.checkpoints.hub import resolve_checkpoint
        from bert_keras.models.bert_encoder import BertEncoder
        from bert_keras.precision import resolve_precision
        from bert_keras.text.bert_tokenizer import BertTokenizer

        if "dtype" in encoder_kwargs:
            raise ValueError("Pass precision= ('auto', 'float32', 'mixed_bfloat16', 'mixed_float16') instead of "
                             "dtype= to from_pretrained.")
        directory = resolve_checkpoint(path)
        encoder = BertEncoder.from_pretrained(directory, dropout=dropout, attention_dropout=dropout,
                                              dtype=resolve_precision(precision), **encoder_kwargs)
        tokenizer = BertTokenizer.from_pretrained(directory, seq_length=seq_length)
        return encoder, tokenizer

    # ------------------------------------------------------------------------------------------ compile

    def compile(self, optimizer="auto", loss="auto", metrics="auto", learning_rate="auto", warmup_ratio=0.1,
                weight_decay=0.01, gradient_accumulation_steps=None, **kwargs):
        """Keras `compile`, with BERT's fine-tuning recipe for every argument left at "auto".

        Args:
            optimizer: "auto": fused AdamW (`bert_keras.optimizers.create_optimizer`) with `learning_rate`,
                linear warmup over `warmup_ratio` of the steps then linear decay to 0, sized by the first
                `fit` call (its epochs times its batches), `weight_decay` except on biases and LayerNorm,
                global-norm clipping at 1.0. Or any Keras optimizer.
            learning_rate: the recipe's peak learning rate; "auto": `FULL_FINETUNING_LEARNING_RATE` (5e-5), or
                `LORA_LEARNING_RATE` (2e-3) for a model with LoRA on, also when `enable_lora` comes after this
                call (before the first `fit`).
            gradient_accumulation_steps: with optimizer="auto": update once every N batches with their mean
                gradient (Keras's accumulation; the schedule counts updates), so `batch_size=8` with N=4 trains
                as batch 32 in a quarter of the activation memory.
            loss: "auto": the task's `default_loss()`.
            metrics: "auto": the task's `default_metrics()`.
            **kwargs: the rest of `keras.Model.compile` (`jit_compile`, `steps_per_execution`, ...).
        """
        recipe = isinstance(optimizer, str) and optimizer == "auto"
        self._auto_learning_rate = check_learning_rate(learning_rate) == "auto" and recipe
        if self._auto_learning_rate:
            learning_rate = self._recipe_learning_rate()
        optimizer = recipe_optimizer(self, optimizer, learning_rate, warmup_ratio, weight_decay,
                                     gradient_accumulation_steps)
        if not self._schedule_from_fit and gradient_accumulation_steps:
            raise ValueError("gradient_accumulation_steps goes with optimizer='auto'; for your own optimizer, pass "
                             "it to the optimizer (every Keras optimizer takes gradient_accumulation_steps).")
        if isinstance(loss, str) and loss == "auto":
            loss = self.default_loss()
        if isinstance(metrics, str) and metrics == "auto":
            metrics = self.default_metrics()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        """Recompiles a loaded model with its saved optimizer (state restored by Keras), loss and metrics."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    # ------------------------------------------------------------------------------------------ LoRA, copies

    def enable_lora(self, rank, alpha=None):
        """Low-rank adaptation (Hu et al. 2021) of the encoder, on Keras's `Dense.enable_lora`.

        Every transformer block's fused query/key/value projection, attention output projection and both
        feed-forward matmuls get trainable rank-`rank` factors (A random, B zero: the model is unchanged until
        trained); the encoder's other weights (embeddings, those kernels, their biases) are frozen; LayerNorms,
        the pooler where the head reads it (`USES_POOLER`: on Rotten Tomatoes, MiniLM, rank 8, freezing it cost
        0.6 points of test accuracy) and the task head stay trainable. Call it before the first `fit`. Saved files (`.keras`,
        weights, exports) carry the merged kernels W + (alpha / rank) A B and no LoRA variables; a loaded model
        is a plain one (call `enable_lora` again to go on adapting it).

        Args:
            rank: the factors' inner size (8 is a common choice).
            alpha: scale numerator; default `rank` (scale 1), Keras's default.

        Returns:
            (trainable parameters, all parameters) after the change.
        """
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"LoRA rank must be a positive integer, got {rank!r}.")
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and optimizer.built:
            raise ValueError("enable_lora must come before the first fit (the optimizer is already built for the "
                             "full model): call it on a freshly loaded model, then compile() and fit().")
        targets = [dense for block in self.encoder.transformer_blocks
                   for dense in (block.attention.query_key_value, block.attention.output_dense,
                                 block.intermediate_dense, block.output_dense)]
        smallest = min(min(layer.kernel.shape) for layer in targets)
        if rank > smallest:
            raise ValueError(f"LoRA rank {rank} exceeds the smallest adapted dimension ({smallest}).")
        keep = {id(v) for v in self.encoder.pooler.weights} if self.USES_POOLER else set()
        for layer in self.encoder._flatten_layers(include_self=False):
            if not isinstance(layer, keras.layers.LayerNormalization):
                for variable in layer._trainable_variables:
                    if id(variable) not in keep:
                        variable.trainable = False
        for layer in targets:
            layer.enable_lora(rank, lora_alpha=alpha)
        self.lora_rank = rank
        if optimizer is not None and getattr(self, "_auto_learning_rate", False):
            # compiled with learning_rate="auto" before LoRA was on: the recipe's LoRA rate (the schedule's values
            # are traced at the first step, so setting them now is in time).
            optimizer._learning_rate.peak = self._recipe_learning_rate()
        return sum(int(np.prod(v.shape)) for v in self.trainable_variables), \
            sum(int(np.prod(v.shape)) for v in self.weights)

    def _recipe_learning_rate(self):
        """The peak learning rate "auto" stands for: `LORA_LEARNING_RATE` with LoRA on, else
        `FULL_FINETUNING_LEARNING_RATE`."""
        lora = getattr(self, "lora_rank", None)
        rate = LORA_LEARNING_RATE if lora else FULL_FINETUNING_LEARNING_RATE
        logger.info("learning_rate='auto': peak %g (%s).", rate, f"LoRA rank {lora}" if lora else "full fine-tuning")
        return rate

    def _ready_to_train(self, lora_rank=None):
        """What every `from_pretrained` ends with: LoRA if asked, then the fine-tuning recipe."""
        if lora_rank is not None:
            self.enable_lora(lora_rank)
        self.compile()
        return self

    def plain_copy(self, dtype=None):
        """An uncompiled copy of this model with plain weights: LoRA factors merged into the kernels, in the dtype
        policy `dtype` (default: this model's), sharing nothing with it. What export and `trainers.finetune`
        save and serve.

        Args:
            dtype: None, or a Keras dtype policy name for the copy's encoder ("float32", "mixed_bfloat16", ...).
        """
        config = self.get_config()
        if dtype is not None:
            config["encoder"] = dict(config["encoder"], config=dict(config["encoder"]["config"], dtype=dtype))
        copy = type(self).from_config(config)
        self.copy_weights_to(copy)
        return copy

    def copy_weights_to(self, other):
        """Copies this model's weights into `other`, a model of the same architecture (another precision, or
        without LoRA: a LoRA layer gives its merged kernel, as in a .keras file; a layer quantized by
        `Model.quantize` is quantized the same way in `other`)."""
        # Layers with weights only: the preprocessor (none) may sit elsewhere in the order when it was set after
        # construction.
        source = [layer for layer in self._flatten_layers(include_self=False) if layer.weights]
        target = [layer for layer in other._flatten_layers(include_self=False) if layer.weights]
        if [type(layer) for layer in source] != [type(layer) for layer in target]:
            raise ValueError(f"{type(self).__name__}.copy_weights_to: the other model's layers differ from this one's.")
        for src, dst in zip(source, target):
            mode = getattr(src, "quantization_mode", None)
            if mode and getattr(dst, "quantization_mode", None) != mode:
                dst.quantize(mode)  # a quantized layer (Model.quantize) saves its quantized variables and scales
            store = {}
            src.save_own_variables(store)  # a LoRA layer saves its merged kernel, as in a .keras file
            if store:
                dst.load_own_variables(store)

    def outputs_from_word_vectors(self, features, word_vectors):
        """The model's outputs, as `model(features)` at inference, with `word_vectors` [batch, seq, hidden]
        in place of the encoder's word-embedding lookup (what `bert_keras.explain` interpolates and
        differentiates). The task models implement it with their own layers."""
        raise NotImplementedError(f"{type(self).__name__} has no outputs_from_word_vectors.")

    # ------------------------------------------------------------------------------------------ text data

    def _text_inputs(self, x):
        raise NotImplementedError(f"{type(self).__name__} has no text path; set preprocessor=None and pass ids.")

    def _targets(self, y, name_classes=False):
        """Target arrays of `y`; `name_classes`: fit's own targets, which may name an unnamed model's classes."""
        return (np.asarray(y),)

    def _finish_predictions(self, outputs):
        return outputs

    def _read_dataset(self, dataset, need_targets=False):
        """(x, y, sample_weight) of a `tf.data.Dataset` given to fit / evaluate / predict on text (`need_targets`:
        fit and evaluate, which refuse a dataset of texts alone)."""
        return _read_text_dataset(dataset, need_targets)

    def _inputs_carry_targets(self, x):
        """True when `x` holds its own targets (span QA's SQuAD examples carry their answers)."""
        return False

    def text_dataset(self, x, y=None, sample_weight=None, batch_size=None, training=False, shuffle=False,
                     need_targets=False):
        """The `tf.data` pipeline that `fit` (`training=True`), `evaluate` and `predict` build from texts.

        `need_targets`: refuse inputs without targets (what `fit` and `evaluate` ask), before any work.

        Returns:
            (dataset of `(features, *targets)` batches, number of batches, row order of the batches or None
            when shuffled), as `BertTextPreprocessor.dataset`.
        """
        batch_size = check_batch_size(batch_size, self.DEFAULT_BATCH_SIZE)
        if isinstance(x, tf.data.Dataset):
            if y is not None or sample_weight is not None:
                raise ValueError("Pass a tf.data.Dataset of (text, label) alone, without y or sample_weight.")
            x, y, sample_weight = self._read_dataset(x, need_targets=need_targets)
        if need_targets and y is None and not self._inputs_carry_targets(x):
            raise ValueError(f"Training and evaluating on text need the targets: {type(self).__name__}.fit(texts, "
                             "labels) or evaluate(texts, labels), or a tf.data.Dataset of (text, label).")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, "float32")
            bad = np.flatnonzero(~np.isfinite(sample_weight) | (sample_weight < 0))
            if len(bad):
                raise ValueError(f"sample_weight[{bad[0]}] is {sample_weight.flat[bad[0]]}: sample weights must be "
                                 "finite and >= 0.")
        # Rounding widths up matters to XLA, which compiles per shape; TensorFlow's graph functions take any width
        # without retracing (Keras traces them with reduce_retracing), so without XLA batches stop at the exact
        # longest row (4-10% fewer padded positions on real reviews).
        multiple = None if self.compiled and self.jit_compile else 1
        return self._text_batches(x, y, sample_weight, batch_size, training=training, shuffle=training and shuffle,
                                  pad_to_multiple_of=multiple)

    def _text_batches(self, x, y, sample_weight, batch_size, training, shuffle, pad_to_multiple_of):
        """Texts (and pairs) -> `BertTextPreprocessor.dataset`, batches sorted by length unless `training` (fit's
        own targets, which alone may name the classes); the tagger and span QA override it."""
        texts, pairs = self._text_inputs(x)
        targets = ()
        if y is not None:
            targets = self._targets(y, name_classes=training)
            for target in targets:
                if len(target) != len(texts):
                    raise ValueError(f"{len(texts)} texts but {len(target)} labels.")
        if sample_weight is not None:
            if len(sample_weight) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(sample_weight)} sample weights.")
            targets = (*targets, sample_weight)
        return self.preprocessor.dataset(texts, pairs, targets, batch_size=batch_size, shuffle=shuffle,
                                         sort_by_length=not training, pad_to_multiple_of=pad_to_multiple_of)

    def export(self, filepath, format="tf_saved_model", version=None, **kwargs):
        """With a preprocessor: writes the string-in TF Serving SavedModel of `python -m export.saved_model`
        (the task's `serving_default` on raw strings, `embed`, `preprocess`, `serve_features`; classifiers add
        `serve_pair`) to `filepath/<version>/` and returns that path. Without one: Keras's `Model.export`."""
        if self.preprocessor is None or format != "tf_saved_model":
            return super().export(filepath, format=format, **kwargs)
        from bert_keras.export.saved_model import export_task_model

        return export_task_model(self, filepath, version=version, **kwargs)

    def _require_preprocessor(self, what):
        if self.preprocessor is None:
            raise ValueError(f"{what} needs the model's tokenizer: this {type(self).__name__} has "
                             "preprocessor=None. Set model.preprocessor = BertTextPreprocessor(tokenizer, seq_length).")

    # ------------------------------------------------------------------------------------------ Keras API

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, sample_weight=None, steps_per_epoch=None, **kwargs):
        """Keras `fit`; on text when the model has a preprocessor (lists or arrays of strings, `(texts_a,
        texts_b)` pairs, or a `tf.data.Dataset` of `(text, label)`), with batches padded to their longest row
        and grouped by length (seeded by Keras's global seed, `keras.utils.set_random_seed`)."""
        if self.preprocessor is None:
            if steps_per_epoch is None:
                steps_per_epoch = _batches_of(x, batch_size)
            size_recipe_schedule(self, None if steps_per_epoch is None else steps_per_epoch * epochs)
            return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                               validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                               sample_weight=sample_weight, steps_per_epoch=steps_per_epoch, **kwargs)
        if validation_split:
            raise ValueError("validation_split is not supported on text inputs; pass validation_data=(texts, "
                             "labels) (a seeded split of your own keeps the same examples out on every run).")
        labels_before = getattr(self, "labels", None)
        try:
            dataset, batches, _ = self.text_dataset(x, y, sample_weight, batch_size, training=True, shuffle=shuffle,
                                                    need_targets=True)
            if validation_data is not None:
                validation_data = self.text_dataset(*_unpack_validation(validation_data), batch_size=batch_size,
                                                    need_targets=True)[0]
            if kwargs.get("class_weight") and getattr(self, "labels", None):
                kwargs["class_weight"] = self._class_weight_ids(kwargs["class_weight"])
        except Exception:
            if hasattr(self, "labels"):  # refused inputs leave the model as it was
                self.labels = labels_before
            raise
        size_recipe_schedule(self, (steps_per_epoch or batches) * epochs)
        return super().fit(dataset, epochs=epochs, verbose=verbose, callbacks=callbacks, shuffle=False,
                           validation_data=validation_data, steps_per_epoch=steps_per_epoch, **kwargs)

    def _class_weight_ids(self, class_weight):
        """`class_weight` keyed by class ids, from one keyed by the model's label names (or ids)."""
        index = {name: i for i, name in enumerate(self.labels)}
        out = {}
        for key, weight in class_weight.items():
            if isinstance(key, bytes):
                key = key.decode("utf-8")
            if isinstance(key, str):
                if key not in index:
                    raise ValueError(f"class_weight names {key!r}, not one of the model's labels {self.labels}.")
                key = index[key]
            out[int(key)] = weight
        return out

    def save(self, filepath, overwrite=True, **kwargs):
        """Keras `save`; a `.keras` file (weights, config, the preprocessor's vocab and the label names)."""
        if str(filepath).endswith((".h5", ".hdf5")):
            raise ValueError(f"Cannot save {type(self).__name__} to {filepath}: the legacy HDF5 format keeps neither "
                             "the preprocessor's vocab nor the label names, and cannot load this model back. Save "
                             "to a .keras file.")
        return super().save(filepath, overwrite=overwrite, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, **kwargs):
        """Keras `evaluate`; on text (as `fit` takes it) when the model has a preprocessor."""
        if self.preprocessor is None or kwargs.get("_use_cached_eval_dataset"):  # the latter: fit's validation
            return super().evaluate(x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                                    **kwargs)
        dataset = self.text_dataset(x, y, sample_weight, batch_size, need_targets=True)[0]
        return super().evaluate(dataset, verbose=verbose, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Keras `predict`; on text when the model has a preprocessor, in the input order (batched by length
        inside), with the task's outputs (see the subclass)."""
        if self.preprocessor is None:
            return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        check_no_steps(steps)
        dataset, _, order = self.text_dataset(x, batch_size=batch_size)
        outputs = super().predict(dataset, verbose=verbose, callbacks=callbacks)
        return self._finish_predictions(self._rows_to_inputs(outputs, order))

    def _rows_to_inputs(self, outputs, order):
        """The model's outputs for the batched rows (`order`: the input index of each) back in input order."""
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return keras.tree.map_structure(lambda a: a[inverse], outputs)


def check_no_steps(steps):
    """`predict(steps=...)` on texts would return some rows of a length-sorted order: refused."""
    if steps is not None:
        raise ValueError(f"predict on texts answers every text (batched by length inside), so it takes no steps "
                         f"(got steps={steps!r}); pass the texts you want answered.")


def _batches_of(x, batch_size):
    """Batches per epoch of Keras-style id inputs, when it can be known without reading them."""
    if isinstance(x, tf.data.Dataset):
        n = int(x.cardinality())
        return n if n > 0 else None
    first = next(iter(x.values()), None) if isinstance(x, dict) else x
    if first is None or not hasattr(first, "__len__"):
        return None
    return math.ceil(len(first) / (batch_size or 32))


def _unpack_validation(validation_data):
    if isinstance(validation_data, tf.data.Dataset):
        return (validation_data,)
    if isinstance(validation_data, list) and not (len(validation_data) in (2, 3) and all(
            isinstance(part, (list, tuple, np.ndarray)) for part in validation_data)):
        return (validation_data,)  # inputs that carry their targets (SQuAD examples); else refused as unlabelled
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be (texts, labels), (texts, labels, sample_weights) or a "
                         "tf.data.Dataset of (text, label).")
    return tuple(validation_data)


def _read_text_dataset(dataset, need_targets=False):
    """(x, y, sample_weight) columns of a finite `tf.data.Dataset` of `(text, label[, weight])` or
    `((text_a, text_b), label)` elements, batched or not; for predict (`need_targets` False) also of texts
    alone. Texts are small: reading them once into memory is what lets batches be
    grouped by length."""
    spec = dataset.element_spec
    form = ("Expected a dataset of (text, label), (text, label, sample_weight) or ((text_a, text_b), label) "
            "elements" + ("" if need_targets else ", or of texts alone (predict)"))
    texts_only = isinstance(spec, tf.TensorSpec)
    if texts_only and need_targets:
        raise ValueError(f"{form}; this dataset holds texts without labels (element_spec {spec}).")
    if not texts_only and (not isinstance(spec, tuple) or len(spec) not in (2, 3)):
        raise ValueError(f"{form}, got element_spec {spec}.")
    text_spec = spec if texts_only else spec[0]
    if not (isinstance(text_spec, tf.TensorSpec) or isinstance(text_spec, tuple) and len(text_spec) == 2):
        raise ValueError(f"{form}: the texts must be a string tensor or a (text_a, text_b) tuple, got {text_spec}.")
    for part in keras.tree.flatten(text_spec):  # rank None (from_generator, py_function): read as one text each
        if not isinstance(part, tf.TensorSpec) or part.dtype != tf.string or part.shape.rank not in (None, 0, 1):
            raise ValueError(f"{form}: the texts must be tf.string scalars (or a batch of them), got {part}; with "
                             "preprocessor=None the model takes id dicts instead.")
    if not texts_only:
        for name, part in zip(("label", "sample_weight"), spec[1:]):
            if not isinstance(part, tf.TensorSpec) or part.dtype == tf.string and name == "sample_weight":
                raise ValueError(f"{form}: its {name} component is {part}"
                                 + ("; sentence pairs go as ((text_a, text_b), label)" if name == "sample_weight"
                                    else "") + ".")
            text_rank = keras.tree.flatten(text_spec)[0].shape.rank
            if part.shape.rank is not None and text_rank is not None and part.shape.rank != text_rank:
                raise ValueError(f"{form}: its {name} must be a scalar per text (or one per text of a batch), got "
                                 f"shape {part.shape} beside texts of shape {keras.tree.flatten(text_spec)[0].shape}.")
    if keras.tree.flatten(text_spec)[0].shape.rank == 1:
        dataset = dataset.unbatch()
    if int(dataset.cardinality()) == tf.data.INFINITE_CARDINALITY:
        raise ValueError("The dataset is infinite (repeat()?): pass a finite one; fit(epochs=...) repeats it.")
    columns = [[] for _ in keras.tree.flatten(spec)]
    for batch in dataset.batch(4096).as_numpy_iterator():
        for column, values in zip(columns, keras.tree.flatten(batch)):
            column.append(values)
    if not columns[0]:
        raise ValueError("The dataset is empty: it holds no texts.")
    flat = [np.concatenate(column) for column in columns]
    structure = keras.tree.pack_sequence_as(spec, flat)
    if texts_only:
        return structure, None, None
    return structure[0], structure[1], structure[2] if len(structure) == 3 else None
