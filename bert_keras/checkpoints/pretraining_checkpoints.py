"""`PretrainingCheckpoints`: a Keras callback that writes a `BertPretrainer` as Google's `bert_model.ckpt-<step>`
after every epoch, so a pretraining run made with `model.fit` leaves checkpoints that Google's BERT code, the
Model Garden and `BertEncoder.from_pretrained` load (`bert_keras.checkpoints.google` writes them; a crash leaves
the previous one the one that loads)."""

import keras


class PretrainingCheckpoints(keras.callbacks.Callback):
    """Writes the model's encoder and MLM/NSP heads into `directory` at the end of each epoch as
    `bert_model.ckpt-<step>` (step = epochs done x `steps_per_epoch`), keeping the last `keep`.

    Args:
        directory: where the checkpoints go (Google's layout: `bert_config.json`, `checkpoint`,
            `bert_model.ckpt-<step>.*`).
        steps_per_epoch: optimizer steps per epoch, for the checkpoints' step numbers.
        keep: how many of the newest checkpoints stay.

    Example:
    >>> import numpy as np, os, tempfile
    >>> from bert_keras import BertEncoder, BertPretrainer
    >>> model = BertPretrainer(BertEncoder.from_config_name("tiny", vocab_size=60, max_sequence_length=16))
    >>> model.compile(loss=model.default_loss())
    >>> x = {"input_word_ids": np.full((2, 8), 7, "int32"), "input_mask": np.ones((2, 8), "int32"),
    ...      "input_type_ids": np.zeros((2, 8), "int32"), "masked_lm_positions": np.ones((2, 2), "int32")}
    >>> y = {"mlm": np.full((2, 2), 9, "int32"), "nsp": np.array([0, 1])}
    >>> out = tempfile.mkdtemp()
    >>> _ = model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[PretrainingCheckpoints(out, 1, keep=1)])
    >>> sorted(name for name in os.listdir(out) if name.startswith("bert_model.ckpt-2"))
    ['bert_model.ckpt-2.data-00000-of-00001', 'bert_model.ckpt-2.index']
    """

    def __init__(self, directory, steps_per_epoch, keep=3):
        super().__init__()
        if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}.")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep must be a positive int, got {keep!r}.")
        self.directory, self.steps_per_epoch, self.keep = directory, steps_per_epoch, keep

    def on_epoch_end(self, epoch, logs=None):
        from bert_keras.checkpoints import save_google_checkpoint

        save_google_checkpoint(self.model.encoder, self.directory, head_tensors=self.model.head_tensors(),
                               step=(epoch + 1) * self.steps_per_epoch, keep=self.keep)
