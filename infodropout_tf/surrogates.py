"""The surrogate information-bottleneck penalties of Kirsch, Lyle & Gal.

"Unpacking Information Bottlenecks" (Kirsch, Lyle & Gal, 2020) adds
zero-entropy noise to a deterministic representation, Z' = Z + N(0, 1/(2 pi
e)) (`layers.ZeroEntropyNoise`), so that H[Z'|X] = 0 and H[Z'] = I(X; Z'),
and replaces the intractable entropies by tractable surrogates computed on a
batch of Z:

* `squared_norm`: E||Z||^2, which bounds H[Z'] from above up to monotone
  transforms (their "L2 activation" surrogate);
* `log_variance`: sum_j 1/2 log(2 pi e Var[Z_j] + 1) = sum_j 1/2 log(2 pi e
  Var[Z'_j]), the entropy of the factorised Gaussian with the variances of
  Z', an upper bound on H[Z'] that is 0 for a constant Z;
* `conditional_log_variance`: sum_c p(c) sum_j 1/2 log(2 pi e Var[Z_j|Y=c]
  + 1), the same within each class, an upper bound on H[Z'|Y] (the
  residual information I(X; Z'|Y) for zero-entropy noise).

Each returns one scalar per batch, in nats (the squared norm in units of
Z^2), with optional per-example weights; a batch whose weights sum to 0
gives 0. `penalty(name, ...)` selects one by name (`SURROGATES`), as
`models.Classifier` and the configs do. The Keras regulariser objects built
on them are in `information/regularizers.py`.
"""

import math

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
