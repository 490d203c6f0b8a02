"""The surrogate information-bottleneck penalties of Kirsch, Lyle & Gal.

"Unpacking Information Bottlenecks" (Kirsch, Lyle & Gal, 2020) adds
zero-entropy noise to a deterministic representation, Z' = Z + N(0, 1/(2 pi
e)) (`layers.ZeroEntropyNoise`, a Gaussian whose entropy is 0), so that
H[Z'|X] = 0 and H[Z'] = I(X; Z'), and replaces the intractable entropies by
tractable surrogates computed on a batch of Z:

* `squared_norm`: E||Z||^2, which bounds H[Z'] from above up to monotone
  transforms (their "L2 activation" surrogate);
* `log_variance`: sum_j 1/2 log(2 pi e Var[Z_j] + 1) = sum_j 1/2 log(2 pi e
  Var[Z'_j]), the entropy of the factorised Gaussian with the variances of
  Z', an upper bound on H[Z'] that is 0 for a constant Z;
* `conditional_log_variance`: sum_c p(c) sum_j 1/2 log(2 pi e Var[Z_j|Y=c]
  + 1), the same within each class, an upper bound on H[Z'|Y] (the
  residual information I(X; Z'|Y) for zero-entropy noise).

Each comes in two forms:

* a function of a batch, returning one scalar in nats (the squared norm in
  units of Z^2), with optional per-example weights; a batch whose weights
  sum to 0 gives 0. `penalty(name, ...)` selects one by name
  (`SURROGATES`), as `models.Classifier(surrogate=..., surrogate_weight=...)`
  and the configs' `model.surrogate` and `model.surrogate_weight` do;
* a Keras object for any model, with its weight gamma: `SquaredNorm` and
  `LogVariance` are activity regularisers (a layer's
  `activity_regularizer`; Keras divides activity penalties by the batch
  size, so they return batch totals), and `ConditionalLogVariance`, which
  needs the labels, is a layer called on `[z, labels]` that adds its
  penalty with `add_loss`.
"""

import math

import keras
from keras import ops

from infodropout_tf import _validation

SURROGATES = ("none", "squared_norm", "log_variance", "conditional_log_variance")


def _flat(z):
    z = ops.cast(z, "float32")
    return ops.reshape(z, (ops.shape(z)[0], -1))


def _weights(z, sample_weight):
    if sample_weight is None:
        return ops.ones((ops.shape(z)[0],), "float32")
    return ops.cast(ops.reshape(sample_weight, (-1,)), "float32")


def _factorised_entropy(z, weights):
    """sum_j 1/2 log(2 pi e Var_w[z_j] + 1), weighted variances, 0 if sum w = 0."""
    total = ops.sum(weights)
    mean = ops.divide_no_nan(ops.sum(z * weights[:, None], axis=0), total)
    variance = ops.divide_no_nan(
        ops.sum(ops.square(z - mean) * weights[:, None], axis=0), total)
    return 0.5 * ops.sum(ops.log(2.0 * math.pi * math.e * variance + 1.0))


def squared_norm(z, sample_weight=None):
    """E||Z||^2 over a batch: the weighted mean of each example's ||z_i||^2.

    Args:
        z: Tensor (batch, ...) of representations; flattened per example.
        sample_weight: Optional tensor (batch,) of example weights.

    Returns:
        A float32 scalar tensor.
    """
    z = _flat(z)
    weights = _weights(z, sample_weight)
    return ops.divide_no_nan(ops.sum(ops.sum(ops.square(z), axis=1) * weights),
                             ops.sum(weights))


def log_variance(z, sample_weight=None):
    """sum_j 1/2 log(2 pi e Var[Z_j] + 1), the batch's (biased) variances.

    Args:
        z: Tensor (batch, ...) of representations; flattened per example.
        sample_weight: Optional tensor (batch,) of example weights.

    Returns:
        A float32 scalar tensor, in nats.
    """
    z = _flat(z)
    return _factorised_entropy(z, _weights(z, sample_weight))


def conditional_log_variance(z, labels, num_classes, sample_weight=None):
    """sum_c p(c) sum_j 1/2 log(2 pi e Var[Z_j | Y=c] + 1) over a batch.

    p(c) is the (weighted) fraction of the batch in class c; a class with
    fewer than two examples has variance 0 and adds 0.

    Args:
        z: Tensor (batch, ...) of representations; flattened per example.
        labels: Integer tensor (batch,) or (batch, 1) of classes in
            [0, num_classes).
        num_classes: Integer > 0.
        sample_weight: Optional tensor (batch,) of example weights.

    Returns:
        A float32 scalar tensor, in nats.
    """
    num_classes = _validation.positive_int("num_classes", num_classes)
    z = _flat(z)
    weights = _weights(z, sample_weight)
    one_hot = ops.one_hot(ops.cast(ops.reshape(labels, (-1,)), "int32"), num_classes)
    total = ops.sum(weights)
    result = 0.0
    for c in range(num_classes):
        class_weights = one_hot[:, c] * weights
        result += ops.divide_no_nan(ops.sum(class_weights), total) * _factorised_entropy(
            z, class_weights)
    return result


def penalty(name, z, labels=None, num_classes=None, sample_weight=None):
    """The surrogate `name` of `SURROGATES` on a batch (0 for `"none"`).

    Args:
        name: One of `SURROGATES`.
        z: Tensor (batch, ...) of representations.
        labels, num_classes: The classes and their number; needed by
            `"conditional_log_variance"` only.
        sample_weight: Optional tensor (batch,) of example weights.

    Returns:
        A float32 scalar tensor.

    Raises:
        ValueError: for an unknown name, listing the choices.
    """
    name = _validation.one_of("surrogate", name, SURROGATES)
    if name == "none":
        return ops.zeros((), "float32")
    if name == "squared_norm":
        return squared_norm(z, sample_weight)
    if name == "log_variance":
        return log_variance(z, sample_weight)
    return conditional_log_variance(z, labels, num_classes, sample_weight)


# The penalties as Keras objects, with their weight gamma ---------------------------


def _check_weight(weight):
    return _validation.non_negative_float("weight", weight)


@keras.saving.register_keras_serializable(package="infodropout_tf")
class SquaredNorm(keras.regularizers.Regularizer):
    """Activity regulariser weight * E||Z||^2 (Kirsch, Lyle & Gal).

    Returns the batch total weight * batch * E||Z||^2, which Keras divides
    by the batch size for an activity regulariser, so the loss gains
    weight * `squared_norm(z)`.

    Args:
        weight: Finite float >= 0, gamma.

    Example:

    ```python
    z = keras.layers.Dense(84, activity_regularizer=SquaredNorm(0.01))(x)
    ```
    """

    def __init__(self, weight=1e-3):
        self.weight = _check_weight(weight)

    def __call__(self, z):
        batch = ops.cast(ops.shape(z)[0], "float32")
        return self.weight * batch * squared_norm(z)

    def get_config(self):
        return {"weight": self.weight}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class LogVariance(keras.regularizers.Regularizer):
    """Activity regulariser weight * sum_j 1/2 log(2 pi e Var[Z_j] + 1).

    The upper bound on H[Z'] of Kirsch, Lyle & Gal with the batch's
    variances (`log_variance`); a batch total, as for `SquaredNorm`.

    Args:
        weight: Finite float >= 0, gamma.
    """

    def __init__(self, weight=1e-3):
        self.weight = _check_weight(weight)

    def __call__(self, z):
        batch = ops.cast(ops.shape(z)[0], "float32")
        return self.weight * batch * log_variance(z)

    def get_config(self):
        return {"weight": self.weight}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class ConditionalLogVariance(keras.layers.Layer):
    """Adds weight * sum_c p(c) sum_j 1/2 log(2 pi e Var[Z_j|Y=c] + 1).

    The upper bound on the residual H[Z'|Y] of Kirsch, Lyle & Gal
    (`conditional_log_variance`), added with `add_loss`. It needs the
    labels, so it is a layer rather than a regulariser.

    Args:
        num_classes: Integer > 0.
        weight: Finite float >= 0, gamma.

    Call arguments:
        inputs: `[z, labels]`: representations (batch, ...) and integer
            labels (batch,) in [0, num_classes).

    Returns:
        `z`, unchanged.
    """

    def __init__(self, num_classes, weight=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _validation.positive_int("num_classes", num_classes)
        self.weight = _check_weight(weight)

    def call(self, inputs):
        z, labels = inputs
        self.add_loss(self.weight * conditional_log_variance(z, labels, self.num_classes))
        return z

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs[0].shape, dtype=inputs[0].dtype)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "weight": self.weight}
