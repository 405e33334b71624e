"""A bias add whose bfloat16 gradient is summed in float32 (`tf.reduce_sum`) instead of by `BiasAddGrad`.

Leans on TensorFlow's `tf.nn.bias_add` for the forward pass (so grappler still fuses MatMul + BiasAdd into one
oneDNN matmul) and on `tf.custom_gradient` for the backward. Why: TensorFlow's CPU `BiasAddGrad` sums a bfloat16
gradient in bfloat16, so over the rows of a batch it loses most of its precision: an all-ones gradient over 4,096
rows sums to 256, and a [4096, 2048] gradient of mean 0.5 (batch 32 x 128 tokens) comes out 12% off its largest
column sum. Keras's own `Dense` adds its bias with `BiasAdd` on TensorFlow and has the same fault (so keras-hub's
bf16 training too; TensorFlow issue #86378 shows the CPU kernel disagreeing with the GPU's, PyTorch fixed the same
overflow in its bf16 conv bias gradient, pytorch #68048). `tf.reduce_sum` accumulates in float32 and is off by 0.2%,
the rounding of the result to bfloat16. Speed: the same (2 Zen 4 cores, avx512_bf16, `small`
and `base` bf16 training steps interleaved in one process: within 1%). Other dtypes keep `BiasAddGrad`: for float16
it is the accurate one (it accumulates in float32: 4,096 ones -> 4,096, where float16 `reduce_sum` gives 2,048).
"""

import tensorflow as tf


def bias_add(y, bias):
    """`tf.nn.bias_add(y, bias)` for a 2-D `y`; in bfloat16 its bias gradient accumulates in float32.

    Args:
        y: [rows, units] tensor.
        bias: [units] tensor of `y`'s dtype.

    Returns:
        `y + bias`, the same values as `tf.nn.bias_add`.

    Example:
    >>> import tensorflow as tf
    >>> y = tf.ones((4096, 2), tf.bfloat16)
    >>> with tf.GradientTape() as tape:
    ...     b = tf.zeros((2,), tf.bfloat16)
    ...     tape.watch(b)
    ...     out = bias_add(y, b)
    >>> tape.gradient(out, b).numpy().tolist()   # BiasAddGrad in bfloat16 gives [256.0, 256.0]
    [4096.0, 4096.0]
    """
    if y.shape.rank != 2:
        raise ValueError(f"bias_add takes a 2-D tensor [rows, units], got shape {y.shape}.")

    @tf.custom_gradient
    def add(y, bias):
        def grad(dy):
            if dy.dtype == tf.bfloat16:
                return dy, tf.reduce_sum(dy, axis=0)  # accumulates in float32, rounds once
            return dy, tf.raw_ops.BiasAddGrad(out_backprop=dy)

        return tf.nn.bias_add(y, bias), grad

    return add(y, bias)
