"""Closed-form KLs of the priors against TFP and Monte-Carlo estimates."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import priors

tfd = tfp.distributions

ALPHA_UPPER = 0.701  # max_alpha 0.7 + alpha_min 0.001


def _set_prior_parameters(prior, mu, sigma):
    prior.build()
    prior.mu.assign(mu)
    prior.sigma.assign(sigma)


def test_log_normal_kl_matches_tfp_closed_form():
    rng = np.random.default_rng(0)
    features = rng.uniform(0.01, 5.0, size=(64, 10)).astype("float32")
    alpha = rng.uniform(0.001, 0.701, size=(64, 10)).astype("float32")
    prior = priors.LogNormalPrior()
    _set_prior_parameters(prior, mu=0.3, sigma=1.5)

    kl = prior(features, alpha, alpha_upper=ALPHA_UPPER)

    # KL between log-normals is the KL between the Gaussians of the logs.
    expected = tfd.kl_divergence(
        tfd.LogNormal(np.log(features), alpha), tfd.LogNormal(0.3, 1.5)
    )
    np.testing.assert_allclose(kl, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("feature,alpha", [(0.5, 0.05), (2.0, 0.3), (1.0, 0.7)])
def test_log_normal_kl_matches_monte_carlo(feature, alpha):
    prior = priors.LogNormalPrior()
    _set_prior_parameters(prior, mu=-0.2, sigma=0.8)
    closed_form = float(
        prior(np.float32([[feature]]), np.float32([[alpha]]), alpha_upper=ALPHA_UPPER)[0, 0]
    )

    posterior = tfd.LogNormal(np.float32(np.log(feature)), np.float32(alpha))
    z = posterior.sample(200_000, seed=tf.constant([1, 2]))
    log_ratio = posterior.log_prob(z) - tfd.LogNormal(np.float32(-0.2), np.float32(0.8)).log_prob(z)
    estimate = float(tf.reduce_mean(log_ratio))
    standard_error = float(tf.math.reduce_std(log_ratio)) / np.sqrt(200_000)
    # Five standard errors: a false failure has probability < 1e-6.
    assert abs(closed_form - estimate) < 5 * standard_error


def test_log_normal_kl_clamps_log_features_at_1e_minus_4():
    prior = priors.LogNormalPrior()
    alpha = np.full((1, 3), 0.2, "float32")
    at_floor = prior(np.full((1, 3), 1e-4, "float32"), alpha, alpha_upper=ALPHA_UPPER)
    below = prior(np.float32([[0.0, 1e-9, 5e-5]]), alpha, alpha_upper=ALPHA_UPPER)
    np.testing.assert_array_equal(below, at_floor)
    # log(1e-4)^2 / 2 dominates: about 42.4 nats per unit with mu=0, sigma=1.
    expected = 0.5 * (0.04 + np.log(1e-4) ** 2 - 1.0) - np.log(0.2)
    np.testing.assert_allclose(at_floor, np.full((1, 3), expected), rtol=1e-6)


def test_log_uniform_kl_is_zero_at_largest_alpha_and_grows_as_alpha_shrinks():
    prior = priors.LogUniformPrior()
    alpha = np.float32([[ALPHA_UPPER, 0.5, 0.1, 0.01, 0.001]])
    kl = np.asarray(prior(np.ones_like(alpha), alpha, alpha_upper=ALPHA_UPPER))[0]
    assert kl[0] == 0.0
    assert np.all(np.diff(kl) > 0)
    np.testing.assert_allclose(kl, -np.log(alpha[0] / ALPHA_UPPER), rtol=1e-6)


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


def test_log_normal_parameters_are_trainable_float32_weights():
    keras.config.set_dtype_policy("mixed_float16")
    prior = priors.LogNormalPrior()
    prior.build()
    assert [w.name for w in prior.trainable_weights] == ["mu", "sigma"]
    assert all(w.dtype == "float32" for w in prior.weights)
    kl = prior(
        np.ones((1, 2), "float16"), np.full((1, 2), 0.001, "float16"), alpha_upper=ALPHA_UPPER
    )
    assert kl.dtype == "float32"
    frozen = priors.LogNormalPrior(trainable_parameters=False)
    frozen.build()
    assert frozen.trainable_weights == []


@pytest.mark.parametrize(
    "name,cls",
    [
        ("log_uniform", priors.LogUniformPrior),
        ("relu", priors.LogUniformPrior),
        ("log_normal", priors.LogNormalPrior),
        ("Softplus", priors.LogNormalPrior),
    ],
)
def test_get_resolves_names_to_new_instances(name, cls):
    first, second = priors.get(name), priors.get(name)
    assert isinstance(first, cls)
    assert first is not second


def test_get_round_trips_serialised_priors():
    prior = priors.LogNormalPrior(mu_initial_value=0.5, sigma_initial_value=2.0)
    restored = priors.get(keras.saving.serialize_keras_object(prior))
    assert isinstance(restored, priors.LogNormalPrior)
    assert restored.get_config() == prior.get_config()
    instance = priors.LogUniformPrior()
    assert priors.get(instance) is instance


@pytest.mark.parametrize("bad", ["laplace", 3, None])
def test_get_rejects_unknown_priors(bad):
    with pytest.raises(ValueError, match=r"`prior`.*Received: prior="):
        priors.get(bad)


def test_log_normal_rejects_non_positive_sigma():
    with pytest.raises(ValueError, match=r"sigma_initial_value=0"):
        priors.LogNormalPrior(sigma_initial_value=0)


@pytest.mark.parametrize(
    "name,value",
    [
        ("sigma_initial_value", float("inf")),
        ("sigma_initial_value", float("nan")),
        ("sigma_initial_value", True),
        ("sigma_initial_value", -1.0),
        ("mu_initial_value", float("inf")),
        ("mu_initial_value", float("nan")),
        ("mu_initial_value", True),
        ("mu_initial_value", "0"),
    ],
)
def test_log_normal_rejects_non_finite_and_boolean_initial_values(name, value):
    with pytest.raises(ValueError, match=rf"argument `{name}`\. Expected a (positive )?finite "
                                         rf"float\. Received: {name}={value!r}$"):
        priors.LogNormalPrior(**{name: value})


def test_log_normal_keeps_finite_initial_values_as_floats():
    prior = priors.LogNormalPrior(mu_initial_value=-2, sigma_initial_value=np.float32(0.5))
    assert (prior.mu_initial_value, prior.sigma_initial_value) == (-2.0, 0.5)
    assert type(prior.sigma_initial_value) is float  # serialisable as JSON
