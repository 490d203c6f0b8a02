"""The Gaussian-mixture estimate of I(X; Z) under Gaussian dropout (Adilova et al.;
`infodropout_tf.information.gaussian_dropout`)."""

import math

import numpy as np
import pytest
from scipy import integrate

from infodropout_tf import information


def _expected_log_abs_affine():
    """E log|2X + 0.5| for X ~ N(0, 1), by quadrature (singular at -0.25)."""
    density = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    integrand = lambda x: math.log(abs(2 * x + 0.5)) * density(x)  # noqa: E731
    return sum(integrate.quad(integrand, a, b, limit=200)[0]
               for a, b in ((-np.inf, -0.25), (-0.25, np.inf)))


@pytest.mark.parametrize("n", [1, 10])
def test_adilova_toy_problem(n):
    sigma, points = 0.5, 4000
    rng = np.random.default_rng(n)
    f = 2 * rng.standard_normal((points, n)) + 0.5

    estimates = [information.gaussian_dropout_information(f, sigma, num_samples=s, seed=5)
                 for s in (1000, 4000, 16_000)]

    # h(Z|X) = n (1/2 log(2 pi e sigma^2) + E log|2X + 0.5|), exactly.
    exact = n * (0.5 * math.log(2 * math.pi * math.e * sigma**2) + _expected_log_abs_affine())
    per_point = np.sum(np.log(np.abs(f)), axis=1)
    tolerance = 4 * per_point.std() / math.sqrt(points)  # the data are a sample of X
    for estimate in estimates:
        assert abs(estimate["conditional_entropy"] - exact) < tolerance
        assert estimate["entropy"] < estimate["entropy_upper_bound"]
        # X uniform over the data: I <= log(points), up to Monte-Carlo error.
        assert 0 < estimate["mutual_information"] <= math.log(points)
    # Converges as samples grow: errors shrink and estimates agree within them.
    errors = [e["entropy_standard_error"] for e in estimates]
    assert errors[0] > errors[1] > errors[2]
    for a, b in zip(estimates, estimates[1:]):
        assert abs(a["entropy"] - b["entropy"]) < 4 * math.hypot(
            a["entropy_standard_error"], b["entropy_standard_error"])


def test_gaussian_dropout_estimate_stays_below_log_n_for_relu_like_features():
    # Half the units inactive (f = 0, noise scale at the 1e-6 floor): the
    # per-point conditional entropies span hundreds of nats, and every point
    # is told apart from the others by its pattern of inactive units, so
    # I(X; Z) = log n. Seeds must agree on it to Monte-Carlo precision.
    rng = np.random.default_rng(3)
    n = 500
    f = np.abs(rng.standard_normal((n, 64))) * (rng.uniform(size=(n, 64)) < 0.5)
    estimates = [information.gaussian_dropout_information(f, 0.5, num_samples=2000, seed=s)
                 for s in range(4)]
    for estimate in estimates:
        assert 0 <= estimate["mutual_information"] <= math.log(n) + 1e-9
        assert estimate["mutual_information"] == pytest.approx(
            math.log(n), abs=4 * estimate["mutual_information_standard_error"] + 1e-6)


def test_gaussian_dropout_estimator_rejects_non_positive_sigma():
    with pytest.raises(ValueError, match=r"`sigma`.*Received: sigma=0"):
        information.gaussian_dropout_information(np.ones((4, 2)), 0)


def test_gaussian_dropout_estimate_is_finite_with_a_constant_unit():
    # The noise-scale floor keeps both entropies and the bound finite when a
    # unit is 0 on every input (a dead ReLU).
    f = np.abs(np.random.default_rng(12).normal(size=(200, 3)))
    f[:, 1] = 0.0
    estimate = information.gaussian_dropout_information(f, 0.5, num_samples=500)
    assert all(np.isfinite(value) for value in estimate.values())
    assert 0 <= estimate["mutual_information"] <= math.log(200) + 1e-9


_EMPTY, _NAN = np.ones((0, 5)), np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]])
_PAIR = np.random.default_rng(9).normal(size=(20, 2))


@pytest.mark.parametrize(
    "estimate,name,received",
    [
        (lambda: information.gaussian_dropout_information(_EMPTY, 0.5),
         "representations", r"shape \(0, 5\)"),
        (lambda: information.gaussian_dropout_information(_NAN, 0.5),
         "representations", r"shape \(3, 2\) with 1 non-finite values"),
        (lambda: information.gaussian_dropout_information(_PAIR, float("inf")),
         "sigma", "sigma=inf"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, num_samples=0),
         "num_samples", "num_samples=0"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, num_components=0),
         "num_components", "num_components=0"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, min_scale=0.0),
         "min_scale", "min_scale=0.0"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, block_size=True),
         "block_size", "block_size=True"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, seed=-1),
         "seed", "seed=-1"),
    ],
)
def test_estimators_name_the_bad_argument(estimate, name, received):
    with pytest.raises(ValueError, match=rf"^Invalid value received for argument `{name}`\. "
                                         rf"Expected .*{received}"):
        estimate()


# Additive noise of fixed scale (Kirsch et al.'s zero-entropy noise) --------------

ZERO_ENTROPY_STD = math.sqrt(1 / (2 * math.pi * math.e))


def test_additive_noise_separated_points_give_log_n_and_one_point_zero():
    separated = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    for points, expected in ((separated[:2], math.log(2)), (separated, math.log(4))):
        estimate = information.additive_gaussian_information(points, ZERO_ENTROPY_STD,
                                                             num_samples=2000, seed=0)
        # Components 400 standard deviations apart: every sample's term is
        # log n up to exp(-10^5).
        assert estimate["mutual_information"] == pytest.approx(expected, abs=1e-9)
        # Zero-entropy noise: h(Z'|X) = 0, so h(Z') = I(X; Z').
        assert estimate["conditional_entropy"] == pytest.approx(0.0, abs=1e-12)
        assert estimate["entropy"] == pytest.approx(expected, abs=1e-9)
    single = information.additive_gaussian_information(np.ones((1, 84)), ZERO_ENTROPY_STD)
    assert single["mutual_information"] == pytest.approx(0.0, abs=1e-9)


def test_additive_noise_overlapping_points_match_quadrature():
    # Two points one noise standard deviation apart in one dimension:
    # I = h(mixture) - h(N(0, s^2)), the mixture's entropy by quadrature.
    s = 0.7
    density = lambda z: 0.5 * (math.exp(-z * z / (2 * s * s))  # noqa: E731
                               + math.exp(-(z - s) ** 2 / (2 * s * s))) / (s * math.sqrt(2 * math.pi))
    mixture_entropy = integrate.quad(lambda z: -density(z) * math.log(density(z)), -12, 13)[0]
    exact = mixture_entropy - 0.5 * math.log(2 * math.pi * math.e * s * s)
    estimate = information.additive_gaussian_information([[0.0], [s]], s, num_samples=20_000,
                                                         seed=1)
    assert 0.05 < exact < 0.2  # far from both 0 and log 2
    assert abs(estimate["mutual_information"] - exact) < \
        4 * estimate["mutual_information_standard_error"]
    assert estimate["conditional_entropy"] == pytest.approx(0.5 * math.log(2 * math.pi * math.e * s * s))


def test_additive_noise_rejects_a_non_positive_scale():
    with pytest.raises(ValueError, match=r"`noise_std`.*Received: noise_std=0"):
        information.additive_gaussian_information(np.ones((3, 2)), 0.0)
