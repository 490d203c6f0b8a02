"""Zero-entropy Gaussian noise (Kirsch, Lyle & Gal, "Unpacking Information
Bottlenecks"): Z' = Z + N(0, 1/(2 pi e)), a Gaussian whose differential
entropy is 0, so that H[Z'|X] = 0 and H[Z'] = I(X; Z') for a deterministic
Z. The surrogate penalties that go with it are in
`infodropout_tf/surrogates.py`.
"""

import math

import keras
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.layers.noise_layer import NoiseLayer

# 1/2 log(2 pi e sigma^2) = 0.
ZERO_ENTROPY_VARIANCE = 1.0 / (2.0 * math.pi * math.e)


@keras.saving.register_keras_serializable(package="infodropout_tf")
class ZeroEntropyNoise(NoiseLayer):
    """Adds N(0, 1/(2 pi e)) noise, whose entropy is 0, when training.

    Like the other noise layers it takes floating-point inputs only: noise
    added to integers would be truncated away. It accepts the two call
    forms of the multiplicative layers, so that a model swaps it in by name
    (`layers.get("zero_entropy")`): `layer(features)` and
    `layer([features, block_inputs])`, whose `block_inputs` it ignores.

    Args: those of `NoiseLayer` (`stochastic_inference`, `seed`).
    """

    def call(self, inputs, training=None):
        features, _ = self._split_inputs(inputs)
        _validation.floating_tensor(self, "features", features)
        if not self.noise_active(training):
            return features
        noise = math.sqrt(ZERO_ENTROPY_VARIANCE) * self.standard_normal(ops.shape(features))
        return ops.cast(ops.cast(features, "float32") + noise, features.dtype)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and isinstance(input_shape[0], (list, tuple)):
            return tuple(input_shape[0])
        return tuple(input_shape)

    def compute_output_spec(self, inputs, training=None):
        features, _ = self._split_inputs(inputs)
        _validation.floating_tensor(self, "features", features)
        return keras.KerasTensor(features.shape, dtype=features.dtype)
