"""`keras.layers.Dropout` that draws two keep/drop decisions from each 32-bit random word.

Leans on Keras's `Dropout` (rate checks, seed generator, serialization, the `training` switch) and changes only
how the TensorFlow backend draws the mask. Keras draws one float32 uniform per element
(`tf.nn.experimental.stateless_dropout`); BERT training draws a great many (for BERT-base at batch 32 x 128,
155 million per step, 6.3 million of them per layer for the attention probabilities), and on a CPU the Philox
generator is what costs: on 2 Zen 5 cores a [32, 8, 128, 128] dropout took 10.7 ms forward + backward through
Keras and 5.6-6.2 ms here, where each uint32 word is split into two 16-bit numbers compared with
`round(rate * 65536)`. The rate is therefore kept to 1/65536 (0.1 drops 6554/65536 = 0.100006 of the values)
and the kept values are scaled by the exact inverse of the kept fraction, so the expectation is unchanged.
On other backends, and with a `noise_shape`, it is Keras's `Dropout` unchanged.
"""

import keras

_HALF_WORD = 65536


@keras.saving.register_keras_serializable(package="bert_keras")
class PackedRandomDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` with two 16-bit decisions per 32-bit random word (TensorFlow backend).

    Same constructor and behaviour as `keras.layers.Dropout`; the rate is rounded to a multiple of 1/65536 (rates
    under 2**-17 or within 2**-17 of 1 go to Keras's own draw). A seed gives other masks than Keras's `Dropout`
    with the same seed.

    Example:
    >>> import numpy as np
    >>> layer = PackedRandomDropout(0.5, seed=1)
    >>> out = np.asarray(layer(np.ones((4, 1000), "float32"), training=True))
    >>> sorted(set(out.ravel().tolist()))
    [0.0, 2.0]
    >>> bool(0.45 < (out == 0).mean() < 0.55)
    True
    """

    def call(self, inputs, training=False):
        threshold = int(round(self.rate * _HALF_WORD))
        if (not training or self.noise_shape is not None or keras.backend.backend() != "tensorflow"
                or not 0 < threshold < _HALF_WORD or not keras.backend.is_float_dtype(inputs.dtype)):
            # Rates under 2**-17 or within 2**-17 of 1, a noise shape, integer inputs: Keras's Dropout.
            return super().call(inputs, training=training)
        import tensorflow as tf

        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
        size = tf.size(inputs)
        words = tf.random.stateless_uniform([(size + 1) // 2], seed, minval=None, maxval=None, dtype=tf.uint32)
        numbers = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:size]
        keep = tf.reshape(numbers, tf.shape(inputs)) >= tf.constant(threshold, tf.uint16)
        scale = tf.cast(_HALF_WORD / (_HALF_WORD - threshold), inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros((), inputs.dtype))
