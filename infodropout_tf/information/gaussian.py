"""Gaussian (maximum-entropy) quantities of a representation.

For a representation with covariance C the Gaussian of the same covariance
has the largest differential entropy, h <= 1/2 log det(2 pi e C), and the
Gaussian approximation of the total correlation is the original
implementation's `correlation` command: TC = -1/2 log det(diag(C)^-1 C)
(Achille & Soatto, TPAMI 2018, section 6 and Fig. 5). All values in nats.
"""

import numpy as np


def _covariance(samples):
    samples = np.asarray(samples, np.float64)
    if samples.ndim != 2 or samples.shape[0] < 2:
        raise ValueError(
            "Expected samples of shape (n, d) with n >= 2. "
            f"Received: shape {samples.shape}"
        )
    return np.atleast_2d(np.cov(samples, rowvar=False))


def gaussian_entropy_bound(samples):
    """1/2 log det(2 pi e C): the largest entropy of any density with the
    samples' covariance C, so an upper bound on their differential entropy."""
    covariance = _covariance(samples)
    sign, log_det = np.linalg.slogdet(2 * np.pi * np.e * covariance)
    if sign <= 0:
        raise ValueError("The samples' covariance is singular: no finite entropy bound.")
    return 0.5 * log_det


def gaussian_mutual_information(x, z):
    """I(X; Z) of the Gaussian with the samples' joint covariance.

    1/2 log(det C_x det C_z / det C_xz); exact for jointly Gaussian X and Z,
    e.g. -1/2 log(1 - rho^2) for two scalars with correlation rho.
    """
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    z = np.asarray(z, np.float64).reshape(len(z), -1)
    joint = _covariance(np.concatenate([x, z], axis=1))
    d = x.shape[1]
    log_det = lambda c: np.linalg.slogdet(c)[1]  # noqa: E731
    return 0.5 * (log_det(joint[:d, :d]) + log_det(joint[d:, d:]) - log_det(joint))


def total_correlation(samples, per_dimension=True):
    """Gaussian total correlation TC = -1/2 log det(diag(C)^-1 C).

    TC = sum_j h(Z_j) - h(Z) for a Gaussian: 0 for independent components.
    The original implementation reports it divided by the dimension
    (`per_dimension=True`), so layers of different widths compare.

    Args:
        samples: (n, d) array, e.g. log-activations of a layer (the paper
            measures the log of the softplus activations).
        per_dimension: Boolean.

    Returns:
        Float, nats (per dimension by default).
    """
    covariance = _covariance(np.asarray(samples).reshape(len(samples), -1))
    scale = 1.0 / np.sqrt(np.diag(covariance))
    correlation = covariance * scale[:, None] * scale[None, :]
    value = -0.5 * np.linalg.slogdet(correlation)[1]
    return value / covariance.shape[0] if per_dimension else value
