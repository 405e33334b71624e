"""A `keras.layers.Dense` whose TensorFlow graph is the one oneDNN fuses: MatMul + BiasAdd (+ activation).

Leans on Keras's `Dense` for everything (weights, LoRA via `enable_lora`, int8 via `quantize`, serialization) and
changes only how the unquantized forward pass is written on the TensorFlow backend. Keras's `Dense` multiplies a
[batch, seq, in] input with `tensordot` and adds the bias with `AddV2`; TensorFlow's graph optimizer (grappler's
remapper, with `TF_ENABLE_ONEDNN_OPTS=1`) only fuses a 2-D `MatMul` followed by `BiasAdd` and an activation into
one oneDNN matmul with post-ops. Written as reshape -> MatMul -> BiasAdd -> activation -> reshape, the bias and the
GELU ride on the matmul instead of being separate passes over [tokens, 3072]: measured on 2 Zen 5 cores
(avx512_bf16), BERT-base forward at batch 8 x 128 under `mixed_bfloat16`, the separate exact GELU took 57 ms of
320 and the bias adds 15 ms (TensorFlow profiler); fused, one [1024, 768] x [768, 3072] bf16 matmul with bias and
GELU takes the time of the matmul alone (7.9 ms vs 13.0 ms with Keras's `Dense` + GELU).
In training the gradient needs the pre-activation, which that fusion does not keep, so there (`training=True`) a
GELU is `fused_gelu.gelu_fused`: forward and gradient each one XLA-compiled loop, +3-4% on a bf16 BERT training step.
The bias is added by `bias_add.bias_add` (still a `BiasAdd` for grappler), whose bfloat16 gradient is summed in
float32 where TensorFlow's `BiasAddGrad` sums in bfloat16 (12% off over a batch of 4096 tokens).
On other backends (JAX, used by the GPU benchmark) it is Keras's `Dense` unchanged.
"""

import keras

# Activations `call` computes with `gelu_fused` in training: Keras's `gelu` (exact) and our `gelu_approximate`.
_GELU_FORMS = {"gelu": False, "gelu_approximate": True}


@keras.saving.register_keras_serializable(package="bert_keras")
class FusedDense(keras.layers.Dense):
    """`keras.layers.Dense` over the last axis, written so that TensorFlow fuses matmul, bias and activation.

    Same constructor, weights, LoRA and quantization as `keras.layers.Dense`; inputs of any rank >= 2 (the
    kernel applies to the last axis).

    Example:
    >>> import numpy as np
    >>> layer = FusedDense(4, activation="gelu")
    >>> tuple(layer(np.ones((2, 3, 8), "float32")).shape)
    (2, 3, 4)
    """

    def quantize(self, mode=None, type_check=True, config=None):
        # Keras's Dense refuses to quantize subclasses (and `Model.quantize` then skips them with a warning).
        # Quantized, this layer is Keras's Dense: `Layer.__call__` routes to `Dense.quantized_call`, not `call`.
        return super().quantize(mode, type_check=False, config=config)

    def call(self, inputs, training=None):
        if keras.backend.backend() != "tensorflow":
            return super().call(inputs, training=training)
        import tensorflow as tf

        kernel = tf.convert_to_tensor(self.kernel)  # autocast to the compute dtype inside the layer's call
        rank = inputs.shape.rank if isinstance(inputs, tf.Tensor) else None
        if rank is None or inputs.dtype != kernel.dtype:  # (rank >= 2: Dense's input_spec)
            # Sparse or unknown-rank inputs, integer inputs or a layer called outside its autocast scope: Keras's
            # `ops.matmul` / `ops.add` handle those (casts to a common dtype, sparse paths).
            return super().call(inputs, training=training)
        x = inputs if rank == 2 else tf.reshape(inputs, [-1, kernel.shape[0]])
        y = tf.matmul(x, kernel)
        if self.bias is not None:
            # imported here: the module imports TensorFlow, absent on JAX runs
            from bert_keras.layers.bias_add import bias_add

            y = bias_add(y, tf.convert_to_tensor(self.bias))
        if self.activation is not None:
            approximate = _GELU_FORMS.get(getattr(self.activation, "__name__", None))
            # imported here: the module imports TensorFlow, absent on JAX runs
            from bert_keras.layers import fused_gelu

            if training and approximate is not None and y.dtype in fused_gelu.DTYPES:
                # Training: the gradient needs the pre-activation, so grappler cannot fuse the GELU into the
                # matmul; one XLA loop each way instead of a dozen element-wise ops (see `fused_gelu`).
                y = fused_gelu.gelu_fused(y, approximate=approximate)
            else:
                y = self.activation(y)
        if rank == 2:
            return y
        static = inputs.shape[:-1]
        dynamic = tf.shape(inputs)
        return tf.reshape(y, [d if d is not None else dynamic[i] for i, d in enumerate(static)] + [self.units])
