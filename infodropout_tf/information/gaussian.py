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
        value = _covariance_total_correlation(_covariance(varying))
    return value / samples.shape[1] if per_dimension else value


LOG_ACTIVATION_SAMPLES = ("image", "channel")


def _log_activations(features, alpha, rng):
    """Noisy log z = log max(f, floor) + alpha eps, float64."""
    log_z = np.log(np.maximum(np.asarray(features, np.float64), LOG_FEATURE_FLOOR))
    return log_z + np.asarray(alpha, np.float64) * rng.standard_normal(log_z.shape)


def _image_covariance(features, alpha, rng, chunk_size):
    """Covariance of the flattened per-image log z, and which of its columns
    vary, accumulated over chunks of images in float64 so that only one
    chunk of noisy log-activations exists at a time."""
    count, total, products, low, high, shift = 0, None, None, None, None, None
    for start in range(0, len(features), chunk_size):
        log_z = _log_activations(features[start:start + chunk_size],
                                 alpha[start:start + chunk_size], rng)
        log_z = log_z.reshape(len(log_z), -1)
        if shift is None:
            # Sums of squares about the first image, not 0, keep the
            # subtraction below from cancelling the covariance away.
            shift = log_z[0].copy()
            total, products = np.zeros_like(shift), np.zeros((len(shift),) * 2)
            low, high = log_z.min(axis=0), log_z.max(axis=0)
        centred = log_z - shift
        count += len(centred)
        total += centred.sum(axis=0)
        products += centred.T @ centred
        low, high = np.minimum(low, log_z.min(axis=0)), np.maximum(high, log_z.max(axis=0))
    mean = total / count
    covariance = (products - count * np.outer(mean, mean)) / (count - 1)
    return covariance, high > low


def _covariance_total_correlation(covariance):
    scale = 1.0 / np.sqrt(np.diag(covariance))
    correlation = covariance * scale[:, None] * scale[None, :]
    return -0.5 * np.linalg.slogdet(correlation)[1]


def log_activation_total_correlation(features, alpha, per="image", seed=0, chunk_size=500):
    """TC per unit of an information-dropout layer's noisy log-activations (Fig. 5).

    With the log-normal prior the representation is log z = log f(x) +
    alpha(x) eps, eps ~ N(0, 1) (paper Eq. 5 in the log domain). Its
    Gaussian total correlation, for the covariance S of the samples, is

        TC = 1/2 (sum_j log S_jj - log det S) = -1/2 log det(diag(S)^-1 S),

    0 when the units are uncorrelated; it is divided by the number of units
    D. `per` says what one sample is:

    * `"image"` (the default; the original's `correlation` command): each
      example's whole log z, flattened to one vector of D = positions x
      channels units, so correlations across positions count too. This
      needs more examples n than units D: n samples give a covariance of
      rank at most n - 1, singular when n <= D, where the Gaussian TC is
      +inf and any finite number (the original prints what rounding gives)
      would be an artefact; such input raises a ValueError instead.
      Even when n > D the estimate is biased upwards by about D / (4 n)
      nats per unit for independent units (the sampling error of the
      correlations), so compare it with that of independent samples of the
      same n and D.
    * `"channel"`: every position of every example is one sample of the
      D = channels units of one position; cross-position correlations are
      ignored. This needs more samples (examples x positions) than
      channels, and is cheap enough for a few dozen examples.

    `features` below `LOG_FEATURE_FLOOR` are raised to it, as the prior
    does. Units constant on every sample add exactly 0 (see the module
    docstring) and still count in D.

    Args:
        features: (n, ..., channels) non-negative activations f(x) that the
            layer multiplies by noise (e.g. softplus outputs).
        alpha: Array of the same shape, the noise scales.
        per: `"image"` or `"channel"`, the sample (see above).
        seed: Integer, seed of eps.
        chunk_size: Integer > 0, examples whose noise is drawn at once for
            `per="image"` (memory: chunk_size x D float64 values, plus the
            D x D covariance).

    Returns:
        Float, nats per unit.

    Raises:
        ValueError: `per` unknown, shapes that differ, or no more samples
            than units (a singular covariance).
    """
    per = _validation.one_of("per", per, LOG_ACTIVATION_SAMPLES)
    chunk_size = _validation.positive_int("chunk_size", chunk_size)
    features, alpha = np.asarray(features), np.asarray(alpha)
    if features.shape != alpha.shape or features.ndim < 2:
        raise _validation.error("alpha", "an array of the features' shape (n, ..., channels)",
                                f"shapes {features.shape} and {alpha.shape}")
    rng = np.random.default_rng(seed)
    if per == "channel":
        samples, units = len(features) * int(np.prod(features.shape[1:-1])), features.shape[-1]
    else:
        samples, units = len(features), int(np.prod(features.shape[1:]))
    if samples <= units:
        raise _validation.error(
            "features", f"more samples than units for per={per!r} (else the covariance is "
            "singular and the total correlation infinite)",
            f"{samples} samples of {units} units, shape {features.shape}")
    if per == "channel":
        log_z = _log_activations(features, alpha, rng)
        return float(total_correlation(log_z.reshape(-1, units)))
    covariance, varying = _image_covariance(features, alpha, rng, chunk_size)
    if not varying.any():
        return 0.0
    return float(_covariance_total_correlation(covariance[np.ix_(varying, varying)]) / units)
