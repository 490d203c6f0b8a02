"""The MINE lower bound (`infodropout_tf.information.mine`) on correlated Gaussians."""

import math

import numpy as np
import pytest

from infodropout_tf import information


def _correlated_gaussians(rho, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)


def test_mine_approaches_the_true_information_of_correlated_gaussians():
    rho = 0.8
    x, z = _correlated_gaussians(rho, 5000, seed=1)
    truth = -0.5 * math.log(1 - rho**2)  # 0.511 nats
    estimate = information.mine_lower_bound(x, z, steps=1500, seed=0)
    # A lower bound trained on 5,000 samples: within 0.1 nats of the truth
    # and far from the 0 of independent variables.
    assert abs(estimate - truth) < 0.1
    independent = information.mine_lower_bound(x, np.random.default_rng(2).standard_normal(5000),
                                               steps=500, seed=0)
    assert abs(independent) < 0.05


_EMPTY, _NAN = np.ones((0, 5)), np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]])
_PAIR = np.random.default_rng(9).normal(size=(20, 2))


@pytest.mark.parametrize(
    "estimate,name,received",
    [
        (lambda: information.mine_lower_bound(_EMPTY, _EMPTY), "x", r"shape \(0, 5\)"),
        (lambda: information.mine_lower_bound(_PAIR, _PAIR[:10]),
         "z", r"20 rows, as many as `x`\. Received: shape \(10, 2\)"),
        (lambda: information.mine_lower_bound(_PAIR, _PAIR, batch_size=0),
         "batch_size", "batch_size=0"),
        (lambda: information.mine_lower_bound(_PAIR, _PAIR, steps=0), "steps", "steps=0"),
        (lambda: information.mine_lower_bound(_PAIR, _PAIR, moving_average_rate=0.0),
         "moving_average_rate", "moving_average_rate=0.0"),
        (lambda: information.mine_lower_bound(_PAIR, _NAN), "z", "non-finite"),
    ],
)
def test_estimators_name_the_bad_argument(estimate, name, received):
    with pytest.raises(ValueError, match=rf"^Invalid value received for argument `{name}`\. "
                                         rf"Expected .*{received}"):
        estimate()
