"""Gaussian (maximum-entropy) quantities of a representation.

For a representation with covariance C the Gaussian of the same covariance
has the largest differential entropy, h <= 1/2 log det(2 pi e C), and the
Gaussian approximation of the total correlation is the original
implementation's `correlation` command: TC = -1/2 log det(diag(C)^-1 C)
(Achille & Soatto, TPAMI 2018, section 6 and Fig. 5). All values in nats.

Constant columns (a unit that takes one value on every sample, such as a
dead ReLU) have zero variance, so diag(C)^-1 and the correlations do not
exist. A constant is independent of every other variable and carries no
information, so it adds exactly 0 to a total correlation or a mutual
information: the functions below leave such columns out, which is the
exact value, not a regularisation. The entropy bound, for which a constant
column means h = -inf, rejects them instead.
"""

import numpy as np

from infodropout_tf import _validation
from infodropout_tf.priors import LOG_FEATURE_FLOOR


def _samples(name, samples):
    """(n, d) float64 samples, n >= 2 so that a covariance exists."""
    samples = _validation.finite_array(name, samples, min_rows=2)
    return samples.reshape(len(samples), -1)


def _varying_columns(samples):
    """The columns that are not constant; exact, unlike a variance test,
    which rounding in the mean makes slightly positive for constants."""
    return samples[:, np.ptp(samples, axis=0) > 0]


def _covariance(samples):
    return np.atleast_2d(np.cov(samples, rowvar=False))


def gaussian_entropy_bound(samples):
    """1/2 log det(2 pi e C): the largest entropy of any density with the
    samples' covariance C, so an upper bound on their differential entropy.

    Args:
        samples: (n, ...) finite samples, n >= 2, flattened to (n, d).

    Raises:
        ValueError: if C is singular (a constant column, or a column that is
            a linear function of the others): the samples then lie on a
            lower-dimensional set, where no finite bound exists.
    """
    samples = _samples("samples", samples)
    covariance = _covariance(samples)
    sign, log_det = np.linalg.slogdet(2 * np.pi * np.e * covariance)
    if sign <= 0:
        raise _validation.error(
            "samples",
            "samples with a non-singular covariance (no constant column, no "
            "column a linear function of the others), whose entropy bound is "
            "finite",
            f"shape {samples.shape} with a covariance of rank "
            f"{np.linalg.matrix_rank(covariance)}",
        )
    return 0.5 * log_det


def gaussian_mutual_information(x, z):
    """I(X; Z) of the Gaussian with the samples' joint covariance.

    1/2 log(det C_x det C_z / det C_xz); exact for jointly Gaussian X and Z,
    e.g. -1/2 log(1 - rho^2) for two scalars with correlation rho.

    Constant columns of `x` or `z` are left out (see the module docstring):
    if either has no varying column the value is exactly 0. It is +inf (or,
    through rounding, merely very large) when a column of one is a linear
    function of the other's columns, as for jointly Gaussian variables with
    a deterministic relation.

    Args:
        x, z: (n, ...) finite paired samples, n >= 2.
    """
    x = _samples("x", x)
    z = _validation.same_rows("z", _samples("z", z), "x", len(x))
    x, z = _varying_columns(x), _varying_columns(z)
    if x.shape[1] == 0 or z.shape[1] == 0:
        return 0.0
    joint = _covariance(np.concatenate([x, z], axis=1))
    d = x.shape[1]
    log_det = lambda c: np.linalg.slogdet(c)[1]  # noqa: E731
    return 0.5 * (log_det(joint[:d, :d]) + log_det(joint[d:, d:]) - log_det(joint))


def total_correlation(samples, per_dimension=True):
    """Gaussian total correlation TC = -1/2 log det(diag(C)^-1 C).

    TC = sum_j h(Z_j) - h(Z) for a Gaussian: 0 for independent components.
    The original implementation reports it divided by the dimension
    (`per_dimension=True`), so layers of different widths compare.

    Constant columns add exactly 0 and are left out of C (see the module
    docstring), but still count in the dimension that `per_dimension`
    divides by: the value is per unit of the layer. Without any varying
    column TC is 0. It is +inf (or, through rounding, merely very large)
    when a column is a linear function of the others.

    Args:
        samples: (n, ...) finite samples, n >= 2, flattened to (n, d), e.g.
            log-activations of a layer (the paper measures the log of the
            softplus activations).
        per_dimension: Boolean.

    Returns:
        Float, nats (per dimension by default).
    """
    samples = _samples("samples", samples)
    varying = _varying_columns(samples)
    value = 0.0
    if varying.shape[1]:
        covariance = _covariance(varying)
        scale = 1.0 / np.sqrt(np.diag(covariance))
        correlation = covariance * scale[:, None] * scale[None, :]
        value = -0.5 * np.linalg.slogdet(correlation)[1]
    return value / samples.shape[1] if per_dimension else value


def log_activation_total_correlation(features, alpha, seed=0):
    """TC per unit of an information-dropout layer's noisy log-activations (Fig. 5).

    With the log-normal prior the representation is log z = log f(x) +
    alpha(x) eps, eps ~ N(0, 1) (paper Eq. 5 in the log domain); the paper
    measures the total correlation of log z across the channels (units of
    one position of a convolutional layer), so every example and position
    is one sample. `features` below `LOG_FEATURE_FLOOR` are raised to it,
    as the prior does.

    Args:
        features: (n, ..., channels) non-negative activations f(x) that the
            layer multiplies by noise (e.g. softplus outputs).
        alpha: Array of the same shape, the noise scales.
        seed: Integer, seed of eps.

    Returns:
        Float, nats per channel; None when there are not more samples than
        channels (no full-rank covariance).
    """
    features = np.asarray(features, np.float64)
    alpha = np.asarray(alpha, np.float64)
    noise = np.random.default_rng(seed).standard_normal(alpha.shape)
    log_z = np.log(np.maximum(features, LOG_FEATURE_FLOOR)) + alpha * noise
    samples = log_z.reshape(-1, log_z.shape[-1])
    if len(samples) <= samples.shape[1]:
        return None
    return float(total_correlation(samples))
