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
`infodropout_tf.layers.ZeroEntropyNoise`. The penalties themselves are the
functions of `infodropout_tf/surrogates.py`, which `models.Classifier`
applies by name (its `surrogate` argument, the configs'
`model.regularizer`).
"""

import keras
from keras import ops

from infodropout_tf import _validation
from infodropout_tf import surrogates


def _check_weight(weight):
    return _validation.non_negative_float("weight", weight)


@keras.saving.register_keras_serializable(package="infodropout_tf")
class SquaredNorm(keras.regularizers.Regularizer):
    """weight * E||Z||^2 (an activity regulariser; see the module docstring)."""

    def __init__(self, weight=1e-3):
        self.weight = _check_weight(weight)

    def __call__(self, z):
        batch = ops.cast(ops.shape(z)[0], "float32")
        return self.weight * batch * surrogates.squared_norm(z)

    def get_config(self):
        return {"weight": self.weight}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class LogVariance(keras.regularizers.Regularizer):
    """weight * sum_j 1/2 log(2 pi e Var[Z_j] + 1), over the batch."""

    def __init__(self, weight=1e-3):
        self.weight = _check_weight(weight)

    def __call__(self, z):
        batch = ops.cast(ops.shape(z)[0], "float32")
        return self.weight * batch * surrogates.log_variance(z)

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
        self.add_loss(self.weight * surrogates.conditional_log_variance(
            z, labels, self.num_classes))
        return z

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs[0].shape, dtype=inputs[0].dtype)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "weight": self.weight}
