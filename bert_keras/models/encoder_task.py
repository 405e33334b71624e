"""`EncoderTask`: the base of the task heads, a functional model around a `BertEncoder`, saved with it."""

import keras

from bert_keras.models.bert_encoder import INPUT_NAMES


def encoder_inputs():
    """The three int32 [batch, seq] Keras inputs, under their TF Hub names."""
    return {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES}


class EncoderTask(keras.Model):
    """Serializes `self.encoder` inside the head's config; subclasses list their own arguments in `task_config`."""

    def task_config(self):
        return {}

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "encoder": keras.saving.serialize_keras_object(self.encoder), **self.task_config()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
