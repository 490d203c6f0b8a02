"""`LogNormalPrior`: a `tfd.LogNormal` with learned mu and sigma, its KL map
against TFP, the original's closed form and a Monte-Carlo mean, and the
positive sigma = softplus(u) + 1e-3."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import models
from infodropout_tf import priors

tfd = tfp.distributions

ALPHA_UPPER = 0.701  # max_alpha 0.7 + alpha_min 0.001


def _set_prior_parameters(prior, mu, sigma):
    prior.build()
    prior.mu.assign(mu)
    prior.unconstrained_sigma.assign(prior.unconstrained_value(sigma))


def test_log_normal_prior_is_a_tfd_log_normal_starting_at_mu_0_sigma_1():
    prior = priors.LogNormalPrior()
    prior.build()
    distribution = prior.distribution()
    assert isinstance(distribution, tfd.LogNormal)
    # Exactly the original's initial values, through the softplus.
    assert float(distribution.loc) == 0.0 and float(distribution.scale) == 1.0
    assert distribution.dtype == tf.float32
    z = np.float32([0.1, 1.0, 7.0])
    np.testing.assert_allclose(prior.log_prob(z), -np.log(z) - 0.5 * np.log(2 * np.pi)
                               - 0.5 * np.log(z) ** 2, rtol=1e-6)


def test_log_normal_kl_matches_tfp_and_the_original_closed_form(original_log_normal_kl):
    rng = np.random.default_rng(0)
    features = rng.uniform(0.01, 5.0, size=(64, 10)).astype("float32")
    features[:, 0] = 0.0  # inactive units: log f clamped at log 1e-4
    alpha = rng.uniform(0.001, 0.701, size=(64, 10)).astype("float32")
    prior = priors.LogNormalPrior()
    _set_prior_parameters(prior, mu=0.3, sigma=1.5)
    np.testing.assert_allclose(float(prior.sigma), 1.5, rtol=1e-7)

    kl = np.asarray(prior(features, alpha, alpha_upper=ALPHA_UPPER))

    expected = tfd.kl_divergence(
        tfd.LogNormal(np.log(np.maximum(features, 1e-4)), alpha), tfd.LogNormal(0.3, 1.5)
    )
    np.testing.assert_allclose(kl, expected, rtol=1e-6, atol=1e-6)
    # KLs from about 0.1 to 47 nats: 1e-6 relative is a few float32 roundings.
    np.testing.assert_allclose(kl, original_log_normal_kl(features, alpha, 0.3, 1.5),
                               rtol=1e-6, atol=1e-6)


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


def test_log_normal_parameters_are_trainable_float32_weights():
    keras.config.set_dtype_policy("mixed_float16")
    prior = priors.LogNormalPrior()
    prior.build()
    assert [w.name for w in prior.trainable_weights] == ["mu", "unconstrained_sigma"]
    assert all(w.dtype == "float32" for w in prior.weights)
    kl = prior(
        np.ones((1, 2), "float16"), np.full((1, 2), 0.001, "float16"), alpha_upper=ALPHA_UPPER
    )
    assert kl.dtype == "float32"
    frozen = priors.LogNormalPrior(trainable_parameters=False)
    frozen.build()
    assert frozen.trainable_weights == []


def test_log_normal_rejects_non_positive_sigma():
    with pytest.raises(ValueError, match=r"sigma_initial_value=0"):
        priors.LogNormalPrior(sigma_initial_value=0)
    with pytest.raises(ValueError, match=r"greater than 0.001 .*Received: sigma_initial_value=0.001$"):
        priors.LogNormalPrior(sigma_initial_value=0.001)


@pytest.mark.parametrize("sigma", [0.0011, 0.02, 0.7, 1.0, 1.5, 40.0, 3e4])
def test_sigma_round_trips_through_the_unconstrained_weight(sigma):
    u = priors.LogNormalPrior.unconstrained_value(sigma)
    mapped = float(priors.LogNormalPrior.sigma_bijector().forward(np.float32(u)))
    # The float32 nearest sigma, or one step away where softplus is flat.
    assert abs(mapped - sigma) <= np.spacing(np.float32(sigma))
    np.testing.assert_allclose(np.logaddexp(0.0, np.float64(u)) + 1e-3, sigma, rtol=1e-6)


def test_sigma_stays_positive_where_sgd_drove_the_raw_weight_negative():
    # The NaN case: softplus All-CNN-32 with the `models.build`
    # defaults (num_train_examples=None: the KL of every unit is unscaled)
    # under SGD at 0.01; a tenth of the filters keeps the test short.
    model = models.build({"name": "all_cnn_32", "filter_fraction": 0.1,
                          "activation": "softplus", "noise": "information", "seed": 0})
    log_normal_priors = [layer.prior for layer in model.network.layers
                         if isinstance(getattr(layer, "prior", None), priors.LogNormalPrior)]
    assert len(log_normal_priors) == 2
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, 64)

    # The step SGD takes on a raw sigma weight (the old parameterisation)
    # at sigma = 1: the KL terms are the only ones of the objective that
    # depend on sigma (besides a weight decay of 5e-4 * sigma), and
    # dKL/dsigma = dKL/du / sigmoid(u).
    with tf.GradientTape() as tape:
        model(x[:8], training=True)
        kl_terms = tf.add_n(model.losses)
    variables = [prior.unconstrained_sigma.value for prior in log_normal_priors]
    old_steps = [1.0 - 0.01 * float(g) / float(tf.sigmoid(v))
                 for g, v in zip(tape.gradient(kl_terms, variables), variables)]
    assert min(old_steps) < -1.0  # the old weight went negative in one step

    model.compile(keras.optimizers.SGD(0.01))
    losses, sigmas = [], []
    for step in range(200):
        batch = slice((step % 8) * 8, (step % 8 + 1) * 8)
        losses.append(float(model.train_on_batch(x[batch], y[batch])[0]))
        sigmas.append([float(prior.sigma) for prior in log_normal_priors])
    assert np.all(np.isfinite(losses))
    assert np.all(np.isfinite(sigmas)) and np.min(sigmas) >= priors.MIN_SIGMA


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


def test_saved_weights_hold_mu_u_and_sigma_and_load_back_exactly():
    prior = priors.LogNormalPrior()
    _set_prior_parameters(prior, mu=0.4, sigma=2.5)
    store = {}
    prior.save_own_variables(store)
    assert sorted(store) == ["0", "1", "sigma"]
    assert float(store["0"]) == np.float32(0.4)
    assert float(store["1"]) == float(prior.unconstrained_sigma.numpy())
    assert float(store["sigma"]) == float(prior.sigma)  # readable without the bijector

    restored = priors.LogNormalPrior()
    restored.build()
    restored.load_own_variables(store)
    assert float(restored.mu.numpy()) == np.float32(0.4)
    assert float(restored.unconstrained_sigma.numpy()) == float(store["1"])
    assert float(restored.sigma) == float(prior.sigma)
    # Only this layout is read: a store without sigma is refused, naming
    # the prior and the entries expected.
    del store["sigma"]
    with pytest.raises(ValueError, match=r"log-normal prior 'prior'.*expected saved entries "
                                         r"\['0', '1', 'sigma'\]\. Received: \['0', '1'\]$"):
        restored.load_own_variables(store)
