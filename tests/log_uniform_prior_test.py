"""`LogUniformPrior`: the improper prior's closed-form KL, its constant and
its differences against a Monte-Carlo mean."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import priors

tfd = tfp.distributions

ALPHA_UPPER = 0.701  # max_alpha 0.7 + alpha_min 0.001


def test_log_uniform_kl_is_zero_at_largest_alpha_and_grows_as_alpha_shrinks():
    prior = priors.LogUniformPrior()
    alpha = np.float32([[ALPHA_UPPER, 0.5, 0.1, 0.01, 0.001]])
    kl = np.asarray(prior(np.ones_like(alpha), alpha, alpha_upper=ALPHA_UPPER))[0]
    assert kl[0] == 0.0
    assert np.all(np.diff(kl) > 0)
    np.testing.assert_allclose(kl, -np.log(alpha[0].astype("float64") / ALPHA_UPPER),
                               rtol=1e-6, atol=1e-7)


def test_log_uniform_prior_is_improper_with_log_prob_minus_log_z():
    prior = priors.LogUniformPrior()
    with pytest.raises(NotImplementedError, match=r"improper.*`log_prob\(z\)`"):
        prior.distribution()
    z = np.float32([1e-3, 1.0, 50.0])
    np.testing.assert_allclose(prior.log_prob(z), -np.log(z), rtol=1e-6)
    # The KL map is the negative entropy of the posterior's log up to a
    # constant: the constant is what makes it 0 at alpha_upper.
    alpha = np.float32([[0.05, 0.3]])
    kl = np.asarray(prior(np.ones_like(alpha), alpha, alpha_upper=ALPHA_UPPER))
    negative_entropy = -np.asarray(tfd.Normal(0.0, alpha).entropy())
    offset = negative_entropy - kl
    np.testing.assert_allclose(offset, -0.5 * np.log(2 * np.pi * np.e) - np.log(ALPHA_UPPER),
                               rtol=1e-6)


def test_log_uniform_kl_does_not_depend_on_features():
    prior = priors.LogUniformPrior()
    alpha = np.full((2, 3), 0.3, "float32")
    small = prior(np.full((2, 3), 1e-6, "float32"), alpha, alpha_upper=ALPHA_UPPER)
    large = prior(np.full((2, 3), 1e6, "float32"), alpha, alpha_upper=ALPHA_UPPER)
    np.testing.assert_array_equal(small, large)


def test_log_uniform_kl_differences_match_monte_carlo():
    # Against the improper prior q(z) = 1/z the KL is only defined up to a
    # constant, so compare differences between two noise scales: the
    # Monte-Carlo mean of log p(z) + log z must move by log(alpha_2/alpha_1).
    prior = priors.LogUniformPrior()
    alphas = (0.05, 0.6)
    estimates, variances = [], []
    for i, alpha in enumerate(alphas):
        posterior = tfd.LogNormal(np.float32(0.7), np.float32(alpha))
        z = posterior.sample(200_000, seed=tf.constant([3, i]))
        values = posterior.log_prob(z) + tf.math.log(z)
        estimates.append(float(tf.reduce_mean(values)))
        variances.append(float(tf.math.reduce_variance(values)) / 200_000)
    kl = np.asarray(prior(np.ones((1, 2), "float32"), np.float32([alphas]), alpha_upper=ALPHA_UPPER))[0]
    closed_form_difference = kl[0] - kl[1]
    assert abs((estimates[0] - estimates[1]) - closed_form_difference) < 5 * np.sqrt(sum(variances))
