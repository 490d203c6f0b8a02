"""Surrogate information-bottleneck regularisers (Kirsch, Lyle & Gal).

"Unpacking Information Bottlenecks" replaces the intractable H[Z] and
H[Z|Y] of a deterministic representation by tractable surrogates after
adding zero-entropy noise, Z' = Z + N(0, 1/(2 pi e)) (a Gaussian whose
entropy is 0, so H[Z'|X] = 0 and H[Z'] = I(X; Z')):

* `SquaredNorm`: E||Z||^2, which bounds the Gaussian entropy of Z' from
  above up to monotone transforms.
* `LogVariance`: sum_j 1/2 log(2 pi e Var[Z'_j]) = sum_j 1/2 log(2 pi e
  Var[Z_j] + 1), the entropy of the factorised Gaussian with Z''s
  variances, an upper bound on H[Z'] that is 0 for a constant Z.
* `ConditionalLogVariance`: the same within each class,
  sum_c p(c) sum_j 1/2 log(2 pi e Var[Z_j | Y=c] + 1), bounding H[Z'|Y]; it
  needs the labels, so it is a layer called on `[z, labels]`.

`SquaredNorm` and `LogVariance` are Keras regularisers: pass them as a
layer's `activity_regularizer`. Keras divides activity penalties by the
batch size, so they return batch totals (E||Z||^2 times the batch; the
batch variance statistic times the batch). The noise itself is the layer
`infodropout_tf.layers.ZeroEntropyNoise`.
"""

import math

import keras
from keras import ops

from infodropout_tf import _validation


def _flat(z):
    z = ops.cast(z, "float32")
    return ops.reshape(z, (ops.shape(z)[0], -1))


def _gaussian_entropy_of_noisy(z, weights=None):
    """sum_j 1/2 log(2 pi e Var[z_j] + 1) with optional example weights."""
    if weights is None:
        variance = ops.var(z, axis=0)
    else:
        total = ops.maximum(ops.sum(weights), 1e-12)
        mean = ops.sum(z * weights[:, None], axis=0) / total
        variance = ops.sum(ops.square(z - mean) * weights[:, None], axis=0) / total
    return 0.5 * ops.sum(ops.log(2.0 * math.pi * math.e * variance + 1.0))


def _check_weight(weight):
    return _validation.non_negative_float("weight", weight)


@keras.saving.register_keras_serializable(package="infodropout_tf")
class SquaredNorm(keras.regularizers.Regularizer):
    """weight * E||Z||^2 (an activity regulariser; see the module docstring)."""

    def __init__(self, weight=1e-3):
        self.weight = _check_weight(weight)

    def __call__(self, z):
        return self.weight * ops.sum(ops.square(_flat(z)))

    def get_config(self):
        return {"weight": self.weight}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class LogVariance(keras.regularizers.Regularizer):
    """weight * sum_j 1/2 log(2 pi e Var[Z_j] + 1), over the batch."""

    def __init__(self, weight=1e-3):
        self.weight = _check_weight(weight)

    def __call__(self, z):
        z = _flat(z)
        batch = ops.cast(ops.shape(z)[0], "float32")
        return self.weight * batch * _gaussian_entropy_of_noisy(z)

    def get_config(self):
        return {"weight": self.weight}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class ConditionalLogVariance(keras.layers.Layer):
    """Adds weight * sum_c p(c) sum_j 1/2 log(2 pi e Var[Z_j|Y=c] + 1).

    Call it on `[z, labels]` (integer labels); it returns z unchanged.

    Args:
        num_classes: Integer > 0.
        weight: Finite float >= 0.
    """

    def __init__(self, num_classes, weight=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _validation.positive_int("num_classes", num_classes)
        self.weight = _check_weight(weight)

    def call(self, inputs):
        z, labels = inputs
        flat = _flat(z)
        one_hot = ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), self.num_classes)
        batch = ops.cast(ops.shape(flat)[0], "float32")
        penalty = 0.0
        for c in range(self.num_classes):
            weights = one_hot[:, c]
            penalty += ops.sum(weights) / batch * _gaussian_entropy_of_noisy(flat, weights)
        self.add_loss(self.weight * penalty)
        return z

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs[0].shape, dtype=inputs[0].dtype)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "weight": self.weight}
