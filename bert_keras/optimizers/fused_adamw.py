"""`FusedAdamW`: Keras's AdamW with TensorFlow's fused `ResourceApplyAdam` update.

Each variable's update is one pass over the variable and its two moments instead of about a dozen
element-wise ops with temporaries; the global gradient norm is taken with `l2_loss` (no squared copy of every
gradient) and the decoupled weight decay is one fused kernel. Same arithmetic as `keras.optimizers.AdamW`
(tested to 2e-6), except that a sparse (`IndexedSlices`) gradient, the word-embedding table's, is applied
densely, as Google's BERT optimizer and PyTorch's AdamW do (Keras's AdamW decays the moments of the looked-up
rows only). On the 2-core CPU the optimizer was about a third of BERT-base's op time (TensorFlow profiler), as
in Model Garden, whose AdamW also uses `ResourceApplyAdam`.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="bert_keras")
class FusedAdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with fused per-variable updates (TensorFlow backend); same arguments.

    Falls back to Keras's own update for `amsgrad=True`. Example:
    >>> optimizer = FusedAdamW(learning_rate=1e-3, weight_decay=0.01, global_clipnorm=1.0)
    >>> variable = keras.Variable([1.0, -2.0])
    >>> optimizer.apply([tf.constant([0.5, 0.5])], [variable])
    >>> [round(float(x), 4) for x in variable.numpy()]
    [0.999, -2.001]
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.handle, v=v.handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(tf.convert_to_tensor(gradient), dtype))

    def _clip_gradients(self, grads):
        if not self.global_clipnorm or self.clipnorm or self.clipvalue:
            return super()._clip_gradients(grads)
        dense = [None if g is None else tf.convert_to_tensor(g) for g in grads]
        norm = tf.sqrt(2.0 * tf.add_n([tf.nn.l2_loss(tf.cast(g, "float32")) for g in dense if g is not None]))
        # Keras's clip_by_global_norm: scale min(1, clip / norm), NaN when the norm is not finite.
        scale = self.global_clipnorm * tf.minimum(1.0 / norm, 1.0 / self.global_clipnorm) + (norm - norm)
        return [None if g is None else g * tf.cast(scale, g.dtype) for g in dense]

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return

        def distributed_apply_weight_decay(distribution, variables, **kwargs):
            def weight_decay_fn(variable):
                if self._use_weight_decay(variable):
                    # variable -= lr * weight_decay * variable, in one kernel (no product temporary).
                    factor = tf.cast(self.learning_rate, variable.dtype) * tf.cast(self.weight_decay, variable.dtype)
                    tf.raw_ops.ResourceApplyGradientDescent(var=variable.handle, alpha=factor, delta=variable)

            for variable in variables:
                if isinstance(variable, keras.Variable):
                    variable = variable.value
                distribution.extended.update(variable, weight_decay_fn, group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(
            distributed_apply_weight_decay, self._distribution_strategy, variables)
