"""`DistributionPrior`: analytic KLs where TFP has them, an unbiased and
reparameterised Monte-Carlo KL where it has not, per-channel parameters,
priors over log z, saving by registered name, and argument checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import priors

tfd = tfp.distributions

ALPHA_UPPER = 0.701  # max_alpha 0.7 + alpha_min 0.001


# A prior of the user's own, registered so that it can be saved.
@keras.saving.register_keras_serializable(package="infodropout_tf_tests")
def two_log_normals(parameters):
    return tfd.MixtureSameFamily(
        tfd.Categorical(logits=parameters["logits"]),
        tfd.LogNormal(parameters["loc"], tf.math.softplus(parameters["scale"])),
    )


MIXTURE_PARAMETERS = {"logits": [0.4, -0.4], "loc": [-1.5, 0.8], "scale": [0.3, -0.5]}


def _mixture_prior(**kwargs):
    prior = priors.DistributionPrior(two_log_normals, MIXTURE_PARAMETERS, **kwargs)
    prior.build((None, 3))
    return prior


def _monte_carlo_reference(feature, alpha, prior_distribution, num_samples, seed):
    """mean and standard error of log p(z|x) - log q(z), z ~ p(z|x)."""
    posterior = tfd.LogNormal(np.float32(np.log(feature)), np.float32(alpha))
    z = posterior.sample(num_samples, seed=tf.constant(seed))
    values = (posterior.log_prob(z) - prior_distribution.log_prob(z)).numpy().astype("float64")
    return values.mean(), values.std() / np.sqrt(num_samples)


def test_mixture_prior_monte_carlo_kl_matches_a_large_sample_reference():
    prior = _mixture_prior()
    assert prior.requires_noise  # TFP has no KL to a mixture
    features = np.float32([0.2, 1.0, 3.0])
    alpha = np.float32([0.1, 0.4, 0.7])
    draws = 20_000
    noise = tf.random.stateless_normal((draws, 3), seed=[5, 6])
    estimates = np.asarray(prior(np.tile(features, (draws, 1)), np.tile(alpha, (draws, 1)),
                                 alpha_upper=ALPHA_UPPER, noise=noise)).astype("float64")
    mixture = prior.distribution()
    for unit in range(3):
        reference, reference_error = _monte_carlo_reference(
            features[unit], alpha[unit], mixture, 100_000, [7, unit])
        error = np.hypot(estimates[:, unit].std() / np.sqrt(draws), reference_error)
        # Five standard errors of the difference: a false failure has
        # probability < 1e-6 per unit.
        assert abs(estimates[:, unit].mean() - reference) < 5 * error
        # The same tolerance rejects the KL to the mixture's nearer component
        # alone, a plausible wrong answer.
        components = mixture.components_distribution
        nearest = int(np.argmin(np.abs(components.distribution.loc - np.log(features[unit]))))
        component = tfd.LogNormal(components.distribution.loc[nearest],
                                  components.distribution.scale[nearest])
        wrong = float(tfd.kl_divergence(tfd.LogNormal(np.log(features[unit]), alpha[unit]),
                                        component))
        assert abs(wrong - reference) > 5 * error


def test_monte_carlo_kl_is_unbiased_and_reparameterised():
    # A log-normal prior forced through the Monte-Carlo path: the mean of
    # the estimates and of their gradients match the analytic KL's.
    parameters = {"loc": 0.3, "scale": priors.LogNormalPrior.unconstrained_value(1.5)}
    monte_carlo = priors.DistributionPrior("infodropout_tf>log_normal", parameters,
                                           kl_method="monte_carlo")
    analytic = priors.DistributionPrior("infodropout_tf>log_normal", parameters)
    for prior in (monte_carlo, analytic):
        prior.build((None, 2))
    assert monte_carlo.requires_noise and not analytic.requires_noise
    draws = 50_000
    features = tf.constant(np.tile(np.float32([0.4, 2.5]), (draws, 1)))
    alpha = tf.Variable(np.tile(np.float32([0.2, 0.6]), (draws, 1)))
    noise = tf.random.stateless_normal((draws, 2), seed=[8, 9])
    with tf.GradientTape(persistent=True) as tape:
        estimates = monte_carlo(features, alpha, alpha_upper=ALPHA_UPPER, noise=noise)
        exact = analytic(features, alpha, alpha_upper=ALPHA_UPPER)
        mean_estimate, mean_exact = tf.reduce_mean(estimates), tf.reduce_mean(exact)
    np.testing.assert_allclose(
        exact[0], tfd.kl_divergence(tfd.LogNormal(np.log(np.float32([0.4, 2.5])),
                                                  np.float32([0.2, 0.6])),
                                    tfd.LogNormal(0.3, 1.5)), rtol=1e-5)
    mean, error = np.mean(estimates, axis=0), np.std(estimates, axis=0) / np.sqrt(draws)
    assert np.all(np.abs(mean - exact[0]) < 5 * error)
    # Per-draw gradients with respect to alpha: d/dalpha of each estimate.
    gradient = tape.gradient(estimates, alpha).numpy()
    exact_gradient = tape.gradient(exact, alpha).numpy()[0]
    gradient_error = gradient.std(axis=0) / np.sqrt(draws)
    assert np.all(np.abs(gradient.mean(axis=0) - exact_gradient) < 5 * gradient_error)
    assert np.all(np.abs(exact_gradient) > 20 * gradient_error)  # a gradient that matters
    # And the gradient with respect to the prior's own weight.
    loc_gradient = tape.gradient(mean_estimate, monte_carlo.parameter_weights["loc"].value)
    exact_loc_gradient = tape.gradient(mean_exact, analytic.parameter_weights["loc"].value)
    # The standard error of the mean gradient is about 0.5% of it.
    np.testing.assert_allclose(loc_gradient, exact_loc_gradient, rtol=0.05)


def test_per_channel_log_normal_prior_is_the_log_normal_prior_per_channel(original_log_normal_kl):
    sigma_u = priors.LogNormalPrior.unconstrained_value(1.0)
    prior = priors.DistributionPrior("infodropout_tf>log_normal", {"loc": 0.0, "scale": sigma_u},
                                     per_channel=("loc", "scale"))
    prior.build((None, 4, 4, 3))
    assert prior.parameter_weights["loc"].shape == (3,)
    assert not prior.requires_noise  # LogNormal || LogNormal is registered
    rng = np.random.default_rng(3)
    features = rng.uniform(0.0, 3.0, size=(2, 4, 4, 3)).astype("float32")
    alpha = rng.uniform(0.001, 0.701, size=(2, 4, 4, 3)).astype("float32")
    reference = priors.LogNormalPrior()
    reference.build()
    np.testing.assert_allclose(prior(features, alpha, alpha_upper=ALPHA_UPPER),
                               reference(features, alpha, alpha_upper=ALPHA_UPPER), rtol=1e-6)
    prior.parameter_weights["loc"].assign([0.0, 2.0, 0.0])
    kl = np.asarray(prior(features, alpha, alpha_upper=ALPHA_UPPER))
    expected = original_log_normal_kl(features, alpha, np.array([0.0, 2.0, 0.0]), 1.0)
    np.testing.assert_allclose(kl, expected, rtol=1e-5, atol=1e-5)
    # The VAE's per-unit prior is this prior.
    assert priors.per_unit_log_normal_prior().get_config() == prior.get_config()


def test_a_prior_over_log_z_gives_the_same_kl_as_over_z(original_log_normal_kl):
    @keras.saving.register_keras_serializable(package="infodropout_tf_tests")
    def normal_of_log_z(parameters):
        return tfd.Normal(parameters["loc"], parameters["scale"])

    over_log_z = priors.DistributionPrior(normal_of_log_z, {"loc": -0.5, "scale": 0.8},
                                          support="log_z")
    over_log_z.build((None, 5))
    rng = np.random.default_rng(4)
    features = rng.uniform(0.05, 4.0, size=(6, 5)).astype("float32")
    alpha = rng.uniform(0.01, 0.7, size=(6, 5)).astype("float32")
    np.testing.assert_allclose(over_log_z(features, alpha, alpha_upper=ALPHA_UPPER),
                               original_log_normal_kl(features, alpha, -0.5, 0.8),
                               rtol=1e-5, atol=1e-6)
    # Its distribution over z is the log-normal.
    z = np.float32([0.3, 1.0, 2.0])
    np.testing.assert_allclose(over_log_z.log_prob(z), tfd.LogNormal(-0.5, 0.8).log_prob(z),
                               rtol=1e-6)


def test_distribution_prior_config_round_trip_and_registered_names():
    prior = priors.DistributionPrior(two_log_normals, MIXTURE_PARAMETERS, per_channel=["loc"],
                                     kl_method="monte_carlo")
    config = keras.saving.serialize_keras_object(prior)
    assert config["config"]["distribution_fn"] == "infodropout_tf_tests>two_log_normals"
    restored = priors.get(config)
    assert isinstance(restored, priors.DistributionPrior)
    assert restored.distribution_fn is two_log_normals
    assert restored.get_config() == prior.get_config()
    by_name = priors.DistributionPrior("infodropout_tf>log_normal_mixture",
                                       {"logits": [0.0], "loc": [0.0], "scale": [1.0]})
    assert by_name.distribution_fn is priors.log_normal_mixture


def test_unregistered_distribution_fn_works_but_cannot_be_saved(original_log_normal_kl):
    prior = priors.DistributionPrior(lambda p: tfd.LogNormal(p["loc"], 1.0), {"loc": 0.0})
    prior.build((None, 2))
    kl = prior(np.ones((1, 2), "float32"), np.full((1, 2), 0.5, "float32"), alpha_upper=0.701)
    np.testing.assert_allclose(kl, original_log_normal_kl(np.ones((1, 2)), np.full((1, 2), 0.5),
                                                          0.0, 1.0), rtol=1e-6)
    with pytest.raises(ValueError, match=r"saved only when its `distribution_fn` is registered"):
        prior.get_config()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"distribution_fn": 3}, r"`distribution_fn`.*Received: distribution_fn=3$"),
        ({"distribution_fn": "nobody>nothing"},
         r"`distribution_fn`.*registered name.*Received: distribution_fn='nobody>nothing'$"),
        ({"parameters": {"loc": float("nan")}}, r"`parameters`.*Received: parameters\['loc'\]=nan$"),
        ({"parameters": {"loc": True}}, r"`parameters`.*Received: parameters\['loc'\]=True$"),
        ({"parameters": [1.0]}, r"`parameters`.*a dict with string keys"),
        ({"per_channel": ("scale",)}, r"`per_channel`.*Received: per_channel=\('scale',\)$"),
        ({"support": "z2"}, r"`support`.*Received: support='z2'$"),
        ({"kl_method": "exact"}, r"`kl_method`.*Received: kl_method='exact'$"),
    ],
)
def test_distribution_prior_bad_arguments(kwargs, match):
    arguments = {"distribution_fn": two_log_normals, "parameters": {"loc": 0.0}, **kwargs}
    with pytest.raises(ValueError, match=match):
        priors.DistributionPrior(**arguments)


@pytest.mark.parametrize(
    "distribution_fn,match",
    [
        (lambda p: p["loc"], r"must return a `tfd.Distribution`"),
        (lambda p: tfd.MultivariateNormalDiag(tf.fill([4], p["loc"])), r"scalar events"),
        (lambda p: tfd.LogNormal(tf.fill([5], p["loc"]), 1.0),
         r"batch shape \(5,\).*does not broadcast against the features' shape \(None, 4, 4, 3\)"),
    ],
)
def test_distribution_prior_checks_what_the_function_builds(distribution_fn, match):
    prior = priors.DistributionPrior(distribution_fn, {"loc": 0.0})
    with pytest.raises(ValueError, match=match):
        prior.build((None, 4, 4, 3))
