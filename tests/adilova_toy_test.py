import math

import numpy as np
import pytest

from infodropout_tf.information import gaussian_dropout_information
from infodropout_tf.results import adilova_toy


def test_closed_form_conditional_entropy_matches_monte_carlo():
    # h(Z|X) = E_x sum_i 1/2 log(2 pi e sigma^2 f_i(x)^2), sampled directly.
    rng = np.random.default_rng(0)
    f = 2 * rng.standard_normal(400_000) + 0.5
    samples = 0.5 * np.log(2 * np.pi * np.e * 0.2 * f**2)
    tolerance = 4 * samples.std() / math.sqrt(len(samples))
    exact = adilova_toy.toy_conditional_entropy(1, math.sqrt(0.2))
    assert exact == pytest.approx(samples.mean(), abs=tolerance)
    assert adilova_toy.toy_conditional_entropy(5, math.sqrt(0.2)) == pytest.approx(5 * exact)
    # Without shift, E log|2X| = log 2 - (gamma + log 2) / 2.
    no_shift = adilova_toy.toy_conditional_entropy(1, 1.0, shift=0.0)
    assert no_shift == pytest.approx(
        0.5 * math.log(2 * math.pi * math.e) + math.log(2) - (np.euler_gamma + math.log(2)) / 2,
        abs=1e-7)


def test_exact_mixture_information_at_its_limits_and_against_the_estimator():
    sigma = math.sqrt(0.2)
    # One input: Z says nothing about X. Inputs whose noisy images never
    # overlap: Z names X, I = log n.
    assert adilova_toy.mixture_information_1d([1.5], sigma) == pytest.approx(0, abs=1e-9)
    assert adilova_toy.mixture_information_1d([1.0, 100.0, 1e4], 0.01) == pytest.approx(
        math.log(3), abs=1e-6)
    # The package's Monte-Carlo estimate of the same mixture.
    f = 2 * np.random.default_rng(1).standard_normal(60) + 0.5
    exact = adilova_toy.mixture_information_1d(f, sigma)
    estimate = gaussian_dropout_information(f[:, None], sigma, num_samples=20_000, seed=2)
    assert exact == pytest.approx(estimate["mutual_information"],
                                  abs=4 * estimate["mutual_information_standard_error"])
    assert abs(exact - adilova_toy.mixture_information_1d(f, sigma, num_nodes=16)) < 0.01


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match=r"argument `points`.*1 zeros"):
        adilova_toy.mixture_information_1d([0.0, 1.0], 0.5)
    with pytest.raises(ValueError, match=r"argument `scale`"):
        adilova_toy.toy_conditional_entropy(1, 0.5, scale=0.0)
    with pytest.raises(SystemExit) as exit_info:
        adilova_toy.main(["--out", "/nonexistent", "--mine_steps", "0"])
    assert exit_info.value.code == 2
