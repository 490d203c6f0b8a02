"""The priors: TFP distributions, KL maps against TFP, the original's closed
forms and Monte-Carlo estimates, and the positive log-normal sigma."""

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


def _original_log_normal_kl(features, alpha, mu, sigma):
    """The original implementation's `KL_div2`, in float64 numpy."""
    log_f = np.log(np.maximum(features.astype("float64"), 1e-4))
    alpha = alpha.astype("float64")
    return (0.5 * ((alpha / sigma) ** 2 + (log_f - mu) ** 2 / sigma ** 2 - 1.0)
            + np.log(sigma) - np.log(alpha))


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


def test_log_normal_kl_matches_tfp_and_the_original_closed_form():
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
    np.testing.assert_allclose(kl, _original_log_normal_kl(features, alpha, 0.3, 1.5),
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


def test_per_channel_log_normal_prior_is_the_log_normal_prior_per_channel():
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
    expected = _original_log_normal_kl(features, alpha, np.array([0.0, 2.0, 0.0]), 1.0)
    np.testing.assert_allclose(kl, expected, rtol=1e-5, atol=1e-5)


def test_a_prior_over_log_z_gives_the_same_kl_as_over_z():
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
                               _original_log_normal_kl(features, alpha, -0.5, 0.8),
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


def test_unregistered_distribution_fn_works_but_cannot_be_saved():
    prior = priors.DistributionPrior(lambda p: tfd.LogNormal(p["loc"], 1.0), {"loc": 0.0})
    prior.build((None, 2))
    kl = prior(np.ones((1, 2), "float32"), np.full((1, 2), 0.5, "float32"), alpha_upper=0.701)
    np.testing.assert_allclose(kl, _original_log_normal_kl(np.ones((1, 2)), np.full((1, 2), 0.5),
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
