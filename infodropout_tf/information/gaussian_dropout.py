"""Mutual information through Gaussian dropout (Adilova, Geiger & Fischer, ICLR 2023).

With multiplicative Gaussian noise Z = f(X) * eps, eps ~ N(1, sigma^2), the
representation has finite I(X; Z) even for a deterministic network. Their
Algorithm 1 estimates it as I = h(Z) - h(Z|X):

* h(Z|X) in closed form: given x, Z ~ N(f(x), diag(sigma^2 f(x)^2)), so
  h(Z|X) = E_x sum_j 1/2 log(2 pi e sigma^2 f_j(x)^2);
* h(Z) by Monte Carlo: with X uniform over the n data points, Z is the
  mixture (1/n) sum_k N(f(x_k), diag(sigma^2 f(x_k)^2)), so
  h(Z) = -E log p(Z) with samples drawn from the mixture and log p evaluated
  by log-sum-exp over its components. The estimate converges to the
  mixture's entropy as samples grow, and I(X; Z) <= log n.

I(X; Z) itself is estimated on the same draws, as the mean of
log p(z|x) - log p(z) over samples z of components x: every term lies in
[0, log n], so the estimate does too. Subtracting the closed-form h(Z|X)
from the Monte-Carlo h(Z) instead mixes an exact mean over the data with a
sampled one; where the noise scales of ReLU-like features span many orders
of magnitude (inactive units at the `min_scale` floor) their difference
has a huge variance and can exceed log n by nats.

The component densities are evaluated for blocks of samples at once as two
matrix products, so 10,000 samples against 1,000 components in 128
dimensions take a fraction of a second on a CPU.

`additive_gaussian_information` is the same estimate for additive noise of
a fixed scale, Z' = f(X) + N(0, s^2 I): the mixture's components are
N(f(x_k), s^2 I). With the zero-entropy noise of Kirsch, Lyle & Gal
(s^2 = 1/(2 pi e), `layers.ZeroEntropyNoise`) h(Z'|X) = 0, so the
estimate is h(Z') itself; within each class it gives their residual
information I(X; Z'|Y) = h(Z'|Y) - h(Z'|X).
"""

import math

import numpy as np
import tensorflow as tf

from infodropout_tf import _validation


def log_mixture_density(samples, means, scales, block_size):
    """log (1/K) sum_k N(samples; means_k, diag(scales_k^2)) per sample.

    Tensors of one float dtype, samples (N, d), means and scales (K, d);
    evaluated `block_size` samples at a time. Also used by
    `infodropout_tf.results.adilova_reference` for a mixture of other scales.
    """
    inverse_variance = 1.0 / tf.square(scales)  # (K, d)
    weighted_means = means * inverse_variance
    constant = -0.5 * (
        tf.reduce_sum(tf.square(means) * inverse_variance, axis=1)
        + 2.0 * tf.reduce_sum(tf.math.log(scales), axis=1)
        + means.shape[1] * math.log(2 * math.pi)
    )  # (K,)
    log_k = math.log(means.shape[0])
    results = []
    for start in range(0, samples.shape[0], block_size):
        block = samples[start : start + block_size]
        # -1/2 sum_j (z_j - m_kj)^2 / s_kj^2, expanded into matrix products.
        quadratic = (
            -0.5 * tf.matmul(tf.square(block), inverse_variance, transpose_b=True)
            + tf.matmul(block, weighted_means, transpose_b=True)
        )
        results.append(tf.reduce_logsumexp(quadratic + constant, axis=1) - log_k)
    return tf.concat(results, axis=0)


def _mixture_information(f, scales, num_components, num_samples, rng, block_size):
    """Samples of the mixture of N(f(x_k), diag(scales_k^2)) over K of the points.

    Returns:
        `(pointwise_information, log_density)`, one entry per sample z:
        log p(z|x) - log p(z), with x the point z was drawn from, and log p(z).
    """
    count = len(f) if num_components is None else min(num_components, len(f))
    components = rng.choice(len(f), size=count, replace=False)
    means, component_scales = f[components], scales[components]
    # Samples of the same mixture: a random component, then its Gaussian.
    chosen = rng.integers(count, size=num_samples)
    noise = rng.standard_normal((num_samples, f.shape[1]))
    samples = means[chosen] + component_scales[chosen] * noise
    log_density = log_mixture_density(
        tf.constant(samples), tf.constant(means), tf.constant(component_scales), block_size
    ).numpy()
    # log p(z | x) of each sample under the component it was drawn from.
    own_log_density = -np.sum(0.5 * math.log(2 * math.pi) + np.log(component_scales[chosen])
                              + 0.5 * np.square(noise), axis=1)
    return own_log_density - log_density, log_density


def gaussian_dropout_information(
    representations,
    sigma,
    num_components=None,
    num_samples=10_000,
    min_scale=1e-6,
    seed=0,
    block_size=1000,
):
    """Estimates I(X; Z) for Z = f(X) * eps, eps ~ N(1, sigma^2) (Algorithm 1).

    Args:
        representations: (n, ...) finite noise-free representations f(x) of
            n >= 2 inputs (two at least: the entropy bound needs their
            covariance), flattened to (n, d).
        sigma: Finite float > 0, standard deviation of the multiplicative
            noise (sqrt(rate / (1 - rate)) for Gaussian dropout with `rate`).
        num_components: Integer K > 0 or None (all n points). With K < n the
            mixture of K random data points stands for p(z): faster, but in
            high dimensions it underestimates h(Z) (each sample is dominated
            by its own component), so keep K = n for final numbers.
        num_samples: Integer > 0, Monte-Carlo samples of Z for h(Z).
        min_scale: Finite float > 0, floor of the noise scale
            sigma * |f_j(x)|: units with f_j(x) = 0 (e.g. inactive ReLUs)
            carry no noise, a degenerate density; the floor keeps h finite
            and should be reported with the estimate.
        seed: Integer >= 0 or None, seed of numpy's generator.
        block_size: Integer > 0, samples per block of the mixture
            evaluation.

    Returns:
        Dict with `mutual_information` = E[log p(z|x) - log p(z)] and its
        Monte-Carlo `mutual_information_standard_error`, `entropy` h(Z) and
        its Monte-Carlo `entropy_standard_error`, `conditional_entropy`
        h(Z|X) and `entropy_upper_bound`, the Gaussian bound
        1/2 log det(2 pi e Cov(Z)) on h(Z); nats.

    Raises:
        ValueError: for an argument out of its range, naming it.
    """
    f = _validation.finite_array("representations", representations, min_rows=2)
    f = f.reshape(len(f), -1)
    sigma = _validation.positive_float("sigma", sigma)
    num_components = _validation.positive_int(
        "num_components", num_components, allow_none=True)
    num_samples = _validation.positive_int("num_samples", num_samples)
    min_scale = _validation.positive_float("min_scale", min_scale)
    seed = _validation.non_negative_int("seed", seed, allow_none=True)
    block_size = _validation.positive_int("block_size", block_size)
    rng = np.random.default_rng(seed)
    scales = np.maximum(sigma * np.abs(f), min_scale)
    conditional_entropy = float(np.mean(
        np.sum(0.5 * np.log(2 * np.pi * np.e) + np.log(scales), axis=1)
    ))

    pointwise_information, log_density = _mixture_information(
        f, scales, num_components, num_samples, rng, block_size)
    entropy = float(-np.mean(log_density))
    entropy_error = float(np.std(log_density)) / np.sqrt(num_samples)

    # Cov(Z) = Cov(f) + E[diag(sigma^2 f^2)] for the full data.
    covariance = np.atleast_2d(np.cov(f, rowvar=False)) + np.diag(np.mean(np.square(scales), axis=0))
    upper_bound = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * covariance)[1]
    return {
        "mutual_information": float(np.mean(pointwise_information)),
        "mutual_information_standard_error":
            float(np.std(pointwise_information)) / np.sqrt(num_samples),
        "entropy": entropy,
        "entropy_standard_error": entropy_error,
        "conditional_entropy": conditional_entropy,
        "entropy_upper_bound": float(upper_bound),
    }


def additive_gaussian_information(
    representations, noise_std, num_components=None, num_samples=10_000, seed=0,
    block_size=1000,
):
    """Estimates I(X; Z') for Z' = f(X) + N(0, noise_std^2 I), X uniform on the points.

    The mixture estimate of `gaussian_dropout_information` with the fixed
    scale `noise_std` for every component: the mean over samples z' of
    log p(z'|x) - log p(z'), each term in [0, log K]. Two points further
    apart than a few `noise_std` give log 2; one point gives 0.

    Args:
        representations: (n, ...) finite noise-free representations f(x) of
            n >= 1 inputs, flattened to (n, d).
        noise_std: Finite float > 0, the noise's standard deviation
            (sqrt(1 / (2 pi e)) for `ZeroEntropyNoise`).
        num_components: Integer K > 0 or None (all n points); see
            `gaussian_dropout_information`.
        num_samples: Integer > 0, Monte-Carlo samples of Z'.
        seed: Integer >= 0 or None, seed of numpy's generator.
        block_size: Integer > 0, samples per block of the mixture
            evaluation.

    Returns:
        Dict with `mutual_information` and its Monte-Carlo
        `mutual_information_standard_error`, `entropy` h(Z') (= the
        mutual information plus h(Z'|X)) and `conditional_entropy` h(Z'|X)
        = d/2 log(2 pi e noise_std^2), 0 for zero-entropy noise; nats.

    Raises:
        ValueError: for an argument out of its range, naming it.
    """
    f = _validation.finite_array("representations", representations)
    f = f.reshape(len(f), -1)
    noise_std = _validation.positive_float("noise_std", noise_std)
    num_components = _validation.positive_int(
        "num_components", num_components, allow_none=True)
    num_samples = _validation.positive_int("num_samples", num_samples)
    seed = _validation.non_negative_int("seed", seed, allow_none=True)
    block_size = _validation.positive_int("block_size", block_size)
    pointwise_information, _ = _mixture_information(
        f, np.full_like(f, noise_std), num_components, num_samples,
        np.random.default_rng(seed), block_size)
    conditional_entropy = 0.5 * f.shape[1] * math.log(2 * math.pi * math.e * noise_std**2)
    information = float(np.mean(pointwise_information))
    return {
        "mutual_information": information,
        "mutual_information_standard_error":
            float(np.std(pointwise_information)) / np.sqrt(num_samples),
        "entropy": information + conditional_entropy,
        "conditional_entropy": conditional_entropy,
    }
