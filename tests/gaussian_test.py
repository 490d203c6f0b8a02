"""Gaussian estimates of mutual information, total correlation and entropy
(`infodropout_tf.information.gaussian`) on Gaussians whose answers are known."""

import math

import numpy as np
import pytest

from infodropout_tf import information


def _correlated_gaussians(rho, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)


@pytest.mark.parametrize("rho", [0.3, 0.8])
def test_gaussian_mutual_information_matches_the_closed_form(rho):
    x, z = _correlated_gaussians(rho, 50_000)
    # The estimate's sampling error is about rho * sqrt(2 / n) ~ 0.005.
    assert abs(information.gaussian_mutual_information(x, z) + 0.5 * math.log(1 - rho**2)) < 0.02


def test_total_correlation_of_independent_and_equicorrelated_gaussians():
    rng = np.random.default_rng(3)
    assert abs(information.total_correlation(rng.standard_normal((50_000, 5)))) < 2e-3
    c, d = 0.5, 5
    covariance = (1 - c) * np.eye(d) + c
    samples = rng.multivariate_normal(np.zeros(d), covariance, size=200_000)
    # det = (1 - c)^(d - 1) (1 + (d - 1) c) for the equicorrelated matrix.
    analytic = -0.5 * ((d - 1) * math.log(1 - c) + math.log(1 + (d - 1) * c))
    assert abs(information.total_correlation(samples, per_dimension=False) - analytic) < 0.01
    np.testing.assert_allclose(information.total_correlation(samples),
                               information.total_correlation(samples, per_dimension=False) / d)


def test_gaussian_entropy_bound_of_a_gaussian_is_its_entropy():
    samples = np.random.default_rng(4).normal(scale=2.0, size=(100_000, 1))
    assert abs(information.gaussian_entropy_bound(samples)
               - 0.5 * math.log(2 * math.pi * math.e * 4.0)) < 0.01


def test_a_constant_column_adds_exactly_nothing_to_total_correlation():
    # A constant (e.g. a dead unit) is independent of everything: TC is that
    # of the varying columns, and per dimension it counts in the layer width.
    rng = np.random.default_rng(10)
    varying = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=500)
    with_constant = np.concatenate([varying, np.full((500, 1), 0.3)], axis=1)
    total = information.total_correlation(varying, per_dimension=False)
    assert total > 0.15  # about -1/2 log(1 - 0.36) = 0.22: a value that could be lost
    assert information.total_correlation(with_constant, per_dimension=False) == total
    assert information.total_correlation(with_constant) == total / 3
    assert information.total_correlation(np.full((10, 4), 2.0)) == 0.0


def test_a_constant_variable_carries_no_gaussian_mutual_information():
    x, z = _correlated_gaussians(0.8, 2000, seed=11)
    constant = np.full(2000, 5.0)
    assert information.gaussian_mutual_information(constant, z) == 0.0
    assert information.gaussian_mutual_information(x, constant) == 0.0
    with_constant = np.stack([x, constant], axis=1)
    expected = information.gaussian_mutual_information(x, z)
    assert expected > 0.4
    assert information.gaussian_mutual_information(with_constant, z) == expected


_EMPTY, _NAN = np.ones((0, 5)), np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]])
_PAIR = np.random.default_rng(9).normal(size=(20, 2))


@pytest.mark.parametrize(
    "estimate,name,received",
    [
        (lambda: information.total_correlation(_EMPTY), "samples", r"shape \(0, 5\)"),
        (lambda: information.total_correlation(_PAIR[:1]), "samples", r"shape \(1, 2\)"),
        (lambda: information.total_correlation(_NAN), "samples", "non-finite"),
        (lambda: information.gaussian_mutual_information(_PAIR, _PAIR[:5]),
         "z", r"20 rows, as many as `x`"),
        (lambda: information.gaussian_mutual_information(_NAN, _NAN), "x", "non-finite"),
        (lambda: information.gaussian_entropy_bound(_EMPTY), "samples", r"shape \(0, 5\)"),
        (lambda: information.gaussian_entropy_bound(np.ones((10, 2))),
         "samples", r"shape \(10, 2\) with a covariance of rank 0"),
    ],
)
def test_estimators_name_the_bad_argument(estimate, name, received):
    with pytest.raises(ValueError, match=rf"^Invalid value received for argument `{name}`\. "
                                         rf"Expected .*{received}"):
        estimate()


def test_log_activation_total_correlation_of_two_noisy_copies():
    # Two channels carry the same log-normal features, log f ~ N(0, s^2), each
    # under its own noise of scale a: corr(log z1, log z2) = s^2 / (s^2 + a^2)
    # and TC = -1/2 log(1 - rho^2), over 2 units. 40,000 samples (100 examples
    # x 20 x 20 positions): the standard error of rho is about
    # (1 - rho^2) / sqrt(n) = 0.003, i.e. 0.006 nats of TC per unit.
    rng = np.random.default_rng(0)
    s, a = 1.0, 0.5
    log_f = s * rng.standard_normal((100, 20, 20, 1))
    features = np.exp(np.concatenate([log_f, log_f], axis=-1))
    alpha = np.full(features.shape, a)
    rho = s**2 / (s**2 + a**2)
    expected = -0.5 * np.log(1 - rho**2) / 2
    tc = information.log_activation_total_correlation
    assert tc(features, alpha, per="channel", seed=1) == pytest.approx(expected, abs=0.02)
    # Without noise the copies are one variable: TC without bound (huge).
    assert tc(features, 0 * alpha, per="channel") > 10


def _gaussian_log_features(rng, covariance, n, shape):
    """Features whose logs are N(0, covariance), flattened per image."""
    log_f = rng.multivariate_normal(np.zeros(len(covariance)), covariance, size=n)
    return np.exp(log_f.reshape((n,) + shape))


def test_per_image_total_correlation_of_a_known_covariance():
    # Noise-free (alpha 0), so log z is exactly Gaussian with covariance S:
    # TC = 1/2 (sum log S_jj - log det S), per unit of the 2 x 2 x 2 map.
    rng = np.random.default_rng(0)
    root = rng.standard_normal((8, 8))
    covariance = root @ root.T + 2 * np.eye(8)
    expected = 0.5 * (np.sum(np.log(np.diag(covariance)))
                      - np.linalg.slogdet(covariance)[1]) / 8
    features = _gaussian_log_features(rng, covariance, 40_000, (2, 2, 2))
    alpha = np.zeros_like(features)
    tc = information.log_activation_total_correlation
    assert expected > 0.1
    assert tc(features, alpha) == pytest.approx(expected, abs=0.005)
    # The chunks over images only bound memory: same noise, same value.
    noisy = np.full(features.shape, 0.3)
    assert tc(features[:999], noisy[:999], chunk_size=7) == pytest.approx(
        tc(features[:999], noisy[:999], chunk_size=10_000), rel=1e-9)


def test_per_image_sees_correlation_across_positions_that_per_channel_misses():
    # Two independent channels; within each, the 4 positions of an image
    # share one Gaussian (correlation 0.9 between positions).
    rng = np.random.default_rng(0)
    channel = np.full((4, 4), 0.9) + 0.1 * np.eye(4)
    covariance = np.kron(channel, np.eye(2))  # positions x channels, channels last
    features = _gaussian_log_features(rng, covariance, 20_000, (4, 2))
    alpha = np.zeros_like(features)
    tc = information.log_activation_total_correlation
    expected = 0.5 * (-np.linalg.slogdet(covariance)[1]) / 8
    assert tc(features, alpha, per="image") == pytest.approx(expected, abs=0.01)
    assert abs(tc(features, alpha, per="channel")) < 0.002
    assert expected > 0.5


def test_log_activation_total_correlation_needs_more_samples_than_units():
    features, alpha = np.ones((10, 3, 3, 2)), np.full((10, 3, 3, 2), 0.5)
    tc = information.log_activation_total_correlation
    # 10 images of 18 units: the per-image covariance is singular.
    with pytest.raises(ValueError, match=r"more samples than units for per='image'.*"
                                         r"10 samples of 18 units"):
        tc(features, alpha)
    assert np.isfinite(tc(features, alpha, per="channel"))  # 90 samples of 2 channels
    with pytest.raises(ValueError, match=r"per='channel'.*1 samples of 2 units"):
        tc(features[:1, :1, :1], alpha[:1, :1, :1], per="channel")
    with pytest.raises(ValueError, match=r"argument `per`"):
        tc(features, alpha, per="position")
    with pytest.raises(ValueError, match=r"argument `alpha`"):
        tc(features, alpha[:, :2])
