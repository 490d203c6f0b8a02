import json
import math

import numpy as np
import pytest

from infodropout_tf.information import gaussian_dropout_information
from infodropout_tf.results import adilova_reference
from infodropout_tf.results import adilova_toy
from infodropout_tf.results import plots


def _direct_reference(means, samples, sigma, c, num_components, offset=0.0):
    """dropout_MI.py's estimate, one sample, component and unit at a time
    (with known_MI.py's covariance c (|m| + offset) for an offset)."""
    components = means[:num_components]
    log_densities = []
    for z in samples:
        density = 0.0
        for m in components:
            term = 1.0 / len(components)
            for z_i, m_i in zip(z, m):
                variance = c * (abs(m_i) + offset)
                term *= math.exp(-(z_i - m_i) ** 2 / (2 * variance)) / math.sqrt(
                    2 * math.pi * variance)
            density += term
        log_densities.append(math.log(density))
    entropy = -sum(log_densities) / len(samples)
    conditional = sum(math.log(math.sqrt(2 * math.pi * math.e) * sigma * abs(m_i + 1e-6))
                      for m in means for m_i in m) / len(means)
    return entropy - conditional


@pytest.mark.parametrize("num_components", [6, 4])
def test_estimator_equals_a_direct_evaluation(num_components):
    rng = np.random.default_rng(0)
    means = rng.uniform(0.5, 2.0, (6, 3)) * rng.choice([-1.0, 1.0], (6, 3))
    samples = means[rng.integers(6, size=9)] + 0.3 * rng.standard_normal((9, 3))
    estimate = adilova_reference.reference_code_information(
        means, 0.3, c=0.7, samples=samples, num_components=num_components, block_size=4)
    assert estimate["mutual_information"] == pytest.approx(
        _direct_reference(means, samples, 0.3, 0.7, num_components), rel=1e-10)
    # The same estimate with the defaults' constant c = p / (1 - p), p = 0.01.
    default = adilova_reference.reference_code_information(means, 0.3, samples=samples)
    assert default["mutual_information"] == pytest.approx(
        _direct_reference(means, samples, 0.3, 1 / 99, 1000), rel=1e-10)


def test_an_offset_makes_zero_means_finite_as_known_mi_does():
    rng = np.random.default_rng(3)
    means = rng.uniform(0.5, 2.0, (5, 3))
    means[1, 2] = means[3, 0] = 0.0  # a softplus underflowed for two inputs
    samples = means[rng.integers(5, size=7)] * (1 + 0.3 * rng.standard_normal((7, 3)))
    with pytest.raises(ValueError, match="non-zero values"):
        adilova_reference.reference_code_information(means, 0.3, c=0.7, samples=samples)
    estimate = adilova_reference.reference_code_information(
        means, 0.3, c=0.7, samples=samples, offset=1e-6)
    assert estimate["mutual_information"] == pytest.approx(
        _direct_reference(means, samples, 0.3, 0.7, 5, offset=1e-6), rel=1e-9)
    # The bound is undefined there (a zero's noise is a point mass).
    assert adilova_reference.reference_estimate(means, 0.3, 0.7, seed=0,
                                                offset=1e-6)["bias_bound"] is None


def test_mixture_matching_the_noise_gives_the_truth_and_zero_bias():
    # |m| = 1 everywhere and c = sigma^2: c |m| = sigma^2 m^2, so the
    # reference mixture is the true one. 20 distinct sign patterns in 6
    # units are 2 apart in some unit, 8 noise standard deviations, so the
    # truth is log 20. Had the code used sigma for the noise's variance, or
    # c m^2 for the covariance, the estimate would be off by nats.
    rng = np.random.default_rng(1)
    patterns = rng.permutation(64)[:20]
    means = np.where((patterns[:, None] >> np.arange(6)) & 1, 1.0, -1.0)
    sigma = 0.25
    assert adilova_reference.reference_code_bias_bound(means, sigma, sigma**2) == 0.0
    estimate = adilova_reference.reference_code_information(
        means, sigma, sigma**2, draws_per_input=100, seed=2)
    assert estimate["mutual_information"] == pytest.approx(
        math.log(20), abs=4 * estimate["entropy_standard_error"] + 1e-3)
    assert estimate["conditional_entropy"] == pytest.approx(
        6 * 0.5 * math.log(2 * math.pi * math.e * sigma**2), abs=1e-5)


@pytest.mark.parametrize("c, bias", [(0.0005, 28.05), (0.002, 2.71), (0.01, 0.912), (0.02, 2.65)])
def test_non_overlapping_excess_is_the_per_unit_formula(c, bias):
    # 20 inputs in 8 units, activations in [1, 3], noise sigma = 0.05 (at
    # most 0.15 per unit) and components of variance c |m| <= 0.06: the
    # nearest means are far more than 4 widths apart, so each sample's
    # density is its own component's and the estimate minus log n is
    # mean_x sum_i 1/2 log(c / (sigma^2 |m_i|)) + sigma^2 |m_i| / (2c) - 1/2,
    # up to its Monte-Carlo error (4 standard errors). c below sigma^2 |m|
    # makes the components narrower than the noise, c above wider.
    means = np.random.default_rng(0).uniform(1, 3, (20, 8))
    sigma = 0.05
    ratio = sigma**2 * means / c
    formula = np.mean(np.sum(0.5 * np.log(1 / ratio) + ratio / 2 - 0.5, axis=1))
    assert adilova_reference.reference_code_bias_bound(means, sigma, c) == pytest.approx(
        formula, rel=1e-12)
    assert formula == pytest.approx(bias, abs=0.01)
    # The true mixture's components do not overlap either: I = log n.
    package = gaussian_dropout_information(means, sigma, num_samples=2000, seed=0)
    assert package["mutual_information"] == pytest.approx(math.log(20), abs=1e-6)
    estimate = adilova_reference.reference_code_information(
        means, sigma, c, draws_per_input=200, seed=1)
    tolerance = 4 * estimate["entropy_standard_error"]
    assert tolerance < 0.3 * bias
    assert estimate["mutual_information"] - math.log(20) == pytest.approx(
        formula, abs=tolerance)


def test_scaling_the_activations_moves_the_reference_estimate_only():
    # softplus activations of 200 inputs in 16 units, sigma = c = 0.25: the
    # true information does not depend on the scale and the package's
    # estimate on the same seed is unchanged to rounding (the samples and
    # both densities scale together); the reference estimate falls by
    # about the change of the per-unit bias (1.53 nats here).
    base = np.logaddexp(0, np.random.default_rng(1).standard_normal((200, 16)) + 0.5)
    estimates, packages, bounds = {}, {}, {}
    for scale in (1, 8):
        estimates[scale] = adilova_reference.reference_code_information(
            scale * base, 0.25, 0.25, draws_per_input=5, seed=1)
        packages[scale] = gaussian_dropout_information(
            scale * base, 0.25, num_samples=1000, seed=2)["mutual_information"]
        bounds[scale] = adilova_reference.reference_code_bias_bound(scale * base, 0.25, 0.25)
    assert packages[8] == pytest.approx(packages[1], abs=1e-9)
    assert packages[1] == pytest.approx(math.log(200), abs=0.02)
    change = estimates[1]["mutual_information"] - estimates[8]["mutual_information"]
    errors = math.hypot(estimates[1]["entropy_standard_error"],
                        estimates[8]["entropy_standard_error"])
    assert bounds[1] - bounds[8] == pytest.approx(1.53, abs=0.01)
    assert change > 1.0
    assert change == pytest.approx(bounds[1] - bounds[8], abs=4 * errors)


@pytest.mark.parametrize("c", [math.sqrt(0.2), 0.2])
def test_toy_reference_estimate_lies_between_the_truth_and_the_bound(c):
    # The estimate of h(Z) is a cross-entropy E_p[-log q] = h(p) + KL(p || q),
    # and KL(p || q) of the two mixtures is at most the mean of their
    # components' divergences: truth <= estimate <= truth + bound.
    sigma = adilova_toy.SIGMA
    f = adilova_toy.SCALE * np.random.default_rng(3).standard_normal(200) + adilova_toy.SHIFT
    exact = adilova_toy.mixture_information_1d(f, sigma)
    estimate = adilova_reference.reference_code_information(
        f[:, None], sigma, c, draws_per_input=50, seed=4)
    tolerance = 4 * estimate["entropy_standard_error"]
    bound = adilova_reference.reference_code_bias_bound(f[:, None], sigma, c)
    assert bound > 0.15
    assert exact - tolerance <= estimate["mutual_information"] <= exact + bound + tolerance


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match=r"argument `means`.*1 zeros"):
        adilova_reference.reference_code_information([[0.0, 1.0], [1.0, 2.0]], 0.5)
    with pytest.raises(ValueError, match=r"argument `samples`.*2 columns"):
        adilova_reference.reference_code_information([[1.0, 1.0]], 0.5, samples=[[1.0]])
    with pytest.raises(ValueError, match=r"argument `c`"):
        adilova_reference.reference_code_information([[1.0]], 0.5, c=0.0)
    with pytest.raises(SystemExit) as exit_info:
        adilova_reference.main(["--out", "/nonexistent", "--seed", "-1"])
    assert exit_info.value.code == 2


def test_small_study_writes_its_files(tmp_path):
    sweep = adilova_reference.scale_sweep(units=4, inputs=30, scales=(1, 4),
                                          constants=(("test", 0.25, 0.25),))
    toy = adilova_reference.toy(dimensions=(1, 2), num_inputs=(20, 40))
    results = {"scale_sweep": sweep, "toy": toy}
    for row in sweep["sweeps"][0]["rows"]:
        assert row["predicted_reference"] == pytest.approx(row["log_n"] + row["bias_bound"])
    assert toy["dimensions"]["1"]["40"]["exact"] == pytest.approx(
        adilova_toy.mixture_information_1d(
            (adilova_toy.SCALE * np.random.default_rng(0).standard_normal((40, 1))
             + adilova_toy.SHIFT)[:, 0], adilova_toy.SIGMA))
    plots.write(str(tmp_path), "adilova_reference", results, adilova_reference.figure_of(results))
    assert json.loads((tmp_path / "adilova_reference.json").read_text())["toy"]["sigma"] == \
        pytest.approx(adilova_toy.SIGMA)
    assert (tmp_path / "adilova_reference.png").read_bytes()[:4] == b"\x89PNG"
