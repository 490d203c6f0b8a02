"""InformationDropout: noise law, alpha, KL loss, modes, gradients, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import priors
from infodropout_tf.layers import ALPHA_MIN
from infodropout_tf.layers import InformationDropout
from infodropout_tf.layers import set_stochastic_inference

tfd = tfp.distributions


def _fixed_alpha_layer(alpha, units, max_alpha=0.7, **kwargs):
    """A drop-in layer on (batch, units) whose alpha is `alpha` everywhere.

    A zero kernel makes g(x) = bias, and the bias is set to the logit that
    gives alpha = alpha_min + max_alpha * sigmoid(bias).
    """
    layer = InformationDropout(max_alpha=max_alpha, **kwargs)
    layer.build((None, units))
    p = (alpha - ALPHA_MIN) / max_alpha
    layer.alpha_branch.kernel.assign(np.zeros((units, units), "float32"))
    layer.alpha_branch.bias.assign(np.full((units,), np.log(p / (1 - p)), "float32"))
    return layer


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _next_seed_of(layer):
    """The stateless seed the layer's next draw uses, without consuming it."""
    state = layer.seed_generator.state.numpy()
    seed = layer._next_seed()
    layer.seed_generator.state.assign(state)
    return seed


# A learnable mixture of two log-normals: a prior of the user's own.
@keras.saving.register_keras_serializable(package="infodropout_tf_tests")
def lognormal_pair(parameters):
    return tfd.MixtureSameFamily(
        tfd.Categorical(logits=parameters["logits"]),
        tfd.LogNormal(parameters["loc"], tf.math.softplus(parameters["scale"])),
    )


def _mixture_prior():
    return priors.DistributionPrior(
        lognormal_pair, {"logits": [0.0, 0.0], "loc": [-2.0, 0.0], "scale": [0.5, 0.5]})


def test_posterior_is_the_log_normal_of_z_given_x_with_its_closed_forms():
    rng = np.random.default_rng(20)
    block_inputs = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    features = rng.uniform(0.1, 3.0, size=(2, 4, 4, 5)).astype("float32")
    layer = InformationDropout(max_alpha=1.0, alpha_strides=2, seed=0)
    posterior = layer.posterior([features, block_inputs])
    assert isinstance(posterior, tfd.LogNormal)
    assert posterior.batch_shape == features.shape and posterior.dtype == tf.float32

    log_f = np.log(features.astype("float64"))
    alpha = np.asarray(layer.noise_scale([features, block_inputs]), "float64")
    np.testing.assert_allclose(posterior.loc, log_f, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(posterior.scale, alpha, rtol=1e-6)
    # LogNormal(log f, alpha): mean f exp(alpha^2/2), variance
    # (exp(alpha^2) - 1) f^2 exp(alpha^2), density of log z minus log z.
    np.testing.assert_allclose(posterior.mean(), features * np.exp(alpha**2 / 2), rtol=1e-6)
    np.testing.assert_allclose(posterior.stddev(),
                               features * np.exp(alpha**2 / 2) * np.sqrt(np.expm1(alpha**2)),
                               rtol=1e-5)
    z = rng.uniform(0.05, 5.0, size=features.shape)
    log_prob = (-0.5 * ((np.log(z) - log_f) / alpha) ** 2 - np.log(alpha)
                - 0.5 * np.log(2 * np.pi) - np.log(z))
    np.testing.assert_allclose(posterior.log_prob(z.astype("float32")), log_prob,
                               rtol=1e-5, atol=1e-5)


def test_posterior_sample_is_the_layers_training_output_for_that_seed():
    rng = np.random.default_rng(21)
    features = rng.uniform(0.1, 3.0, size=(64, 32)).astype("float32")
    layer = InformationDropout(max_alpha=0.7, seed=13)
    layer.build(features.shape)
    seed = _next_seed_of(layer)
    outputs = np.asarray(layer(features, training=True))
    alpha = layer.noise_scale(features)
    assert not np.allclose(outputs, features)

    # The layer draws f * eps with eps = exp(alpha n): exactly f times the
    # draw of the noise law for that seed.
    np.testing.assert_array_equal(outputs, features * tfd.LogNormal(0.0, alpha).sample(seed=seed))
    # The posterior's draw is exp(log f + alpha n) with the same n: equal up
    # to the float32 rounding of the log, the sum (|log f| < 2.4, |sum| < 5)
    # and the exp, a few 1e-7 relative.
    sample = layer.posterior(features).sample(seed=seed)
    np.testing.assert_allclose(outputs, sample, rtol=1e-6)


def test_log_space_output_is_the_log_of_the_same_draw_with_the_kls_clamp():
    # Units at 0 and 1e-6 lie below the KL's clamp of f at 1e-4.
    features = np.float32([[0.0, 1e-6, 0.3, 2.0, 40.0]] * 16)
    layer = _fixed_alpha_layer(0.5, 5, prior="log_normal", seed=15)
    seed, state = _next_seed_of(layer), layer.seed_generator.state.numpy()
    log_outputs, kl_map = layer(features, training=True, log_space=True, return_kl_map=True)
    n = tf.random.stateless_normal(features.shape, seed=seed, alg="philox").numpy()
    expected = np.log(np.maximum(features.astype("float64"), 1e-4)) + 0.5 * n
    np.testing.assert_allclose(log_outputs, expected, rtol=1e-6, atol=1e-6)
    # The noise is real (sd 0.5), and below the clamp log z is centred at
    # log 1e-4 = -9.21, not at log f (-inf and -13.8).
    assert np.std(log_outputs.numpy()[:, 2]) > 0.2
    assert abs(np.mean(log_outputs.numpy()[:, 1]) - np.log(1e-4)) < 0.5
    # Above the clamp, the same draw as the default output z = f exp(alpha n).
    layer.seed_generator.state.assign(state)  # replay the draw
    np.testing.assert_allclose(np.exp(log_outputs.numpy()[:, 2:]),
                               layer(features, training=True).numpy()[:, 2:], rtol=1e-5)
    # The KL map is unchanged: the log-normal prior's, of the clamped log f.
    np.testing.assert_allclose(kl_map, layer(features, return_kl_map=True)[1], rtol=1e-6)
    # Without noise: the clamped log f itself; symbolic calls keep the shape.
    np.testing.assert_allclose(layer(features, log_space=True),
                               np.log(np.maximum(features, 1e-4)), rtol=1e-6)
    assert layer(keras.Input((5,)), log_space=True).shape == (None, 5)


def test_zero_features_are_exact_zeros_with_finite_gradients_and_a_point_mass_posterior():
    features = tf.Variable(np.float32([[0.0, 0.5, 0.0, 2.0]] * 3))
    # Block form: alpha is read from other inputs, so d z / d f is eps alone.
    block_inputs = np.random.default_rng(24).normal(size=(3, 5)).astype("float32")
    layer = InformationDropout(seed=14)
    layer.build([tuple(features.shape), block_inputs.shape])
    seed = _next_seed_of(layer)
    with tf.GradientTape() as tape:
        outputs = layer([features, block_inputs], training=True)
        total = tf.reduce_sum(outputs)
    assert np.all(outputs.numpy()[:, [0, 2]] == 0.0)
    # d(f * eps)/df = eps everywhere, also at f = 0.
    alpha = layer.noise_scale([features, block_inputs])
    noise = tfd.LogNormal(0.0, alpha).sample(seed=seed)
    np.testing.assert_array_equal(tape.gradient(total, features), noise)

    posterior = layer.posterior([features, block_inputs])
    assert np.all(np.asarray(posterior.loc)[:, [0, 2]] == -np.inf)
    for value in (posterior.sample(seed=seed), posterior.mean(), posterior.stddev()):
        assert np.all(np.asarray(value)[:, [0, 2]] == 0.0)
        assert np.all(np.asarray(value)[:, [1, 3]] > 0.0)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_posterior_is_float32_under_mixed_precision(policy):
    keras.config.set_dtype_policy(policy)
    layer = InformationDropout(prior="log_normal", seed=0)
    features = tf.constant([[1e-3, 1.0, 3e4]] * 2, dtype=policy.split("_")[1])
    posterior = layer.posterior(features)
    assert posterior.dtype == tf.float32
    np.testing.assert_allclose(posterior.loc, np.log(tf.cast(features, "float32")), rtol=1e-6)
    assert layer.prior.distribution().dtype == tf.float32


def _random_ops(function, *args):
    """{op type: [alg input of each normal draw]} of a traced graph's random ops."""
    graph = tf.function(function).get_concrete_function(*args).graph
    found = {}
    for op in graph.get_operations():
        if op.type.startswith("StatelessRandom"):
            alg = []
            if op.type == "StatelessRandomNormalV2":
                alg = [int(tf.get_static_value(op.inputs[3]))]
            found.setdefault(op.type, []).extend(alg)
    return found


def test_noise_is_drawn_with_philox_also_under_xla():
    # TFP's `sample` calls `stateless_normal` with alg="auto_select", which
    # XLA lowers on a CPU to a generator about 100 times slower
    # (benchmarks/step_time.py); the layer names Philox (alg 1) instead.
    features = np.random.default_rng(22).uniform(0.1, 2.0, size=(16, 8)).astype("float32")
    layer = InformationDropout(seed=15)
    layer.build(features.shape)
    layer_ops = _random_ops(lambda x: layer(x, training=True), features)
    assert layer_ops["StatelessRandomNormalV2"] == [1]
    # The check tells the two apart: TFP's own draw is auto_select (3).
    tfp_ops = _random_ops(lambda x: layer.posterior(x).sample(seed=[1, 2]), features)
    assert tfp_ops["StatelessRandomNormalV2"] == [3]

    # Under jit_compile the step is the Philox draw (XLA's Philox lowering
    # draws other numbers than eager Philox, as it did before TFP).
    seed = _next_seed_of(layer)

    @tf.function(jit_compile=True)
    def draws(x):
        noise = tf.random.stateless_normal(x.shape, seed, alg="philox")
        return layer(x, training=True), x * tf.exp(layer.noise_scale(x) * noise)

    compiled, philox = draws(features)
    np.testing.assert_array_equal(compiled, philox)


def test_distribution_prior_kl_map_uses_the_layers_own_sample():
    rng = np.random.default_rng(23)
    features = rng.uniform(0.01, 3.0, size=(32, 6)).astype("float32")
    layer = InformationDropout(prior=_mixture_prior(), beta=2.0, num_train_examples=8, seed=16)
    outputs, kl_map = layer(features, training=True, return_kl_map=True)
    posterior = layer.posterior(features)
    # KL estimate -H[p(z|x)] - log q(z) at the layer's output z.
    expected = -posterior.entropy() - layer.prior.log_prob(outputs)
    np.testing.assert_allclose(kl_map, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.losses[0], 2.0 * np.mean(np.sum(expected, axis=1)) / 8,
                               rtol=1e-5)
    # At inference the output is exact, and the KL is still estimated.
    inference, kl_map = layer(features, training=False, return_kl_map=True)
    np.testing.assert_array_equal(inference, features)
    assert np.all(np.isfinite(kl_map))


def test_distribution_prior_model_trains_on_mnist(mnist_train):
    images, labels = mnist_train
    x = images.reshape(len(images), -1)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((784,))
    hidden = keras.layers.Dense(256, activation="softplus")(inputs)
    noisy = InformationDropout(prior=_mixture_prior(), max_alpha=1.0, beta=1.0,
                               num_train_examples=len(x), seed=1, name="dropout")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(10)(noisy))
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    prior_before = [w.numpy().copy() for w in model.get_layer("dropout").prior.weights]
    history = model.fit(x, labels, epochs=4, batch_size=64, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))
    assert history[-1] < 0.6 * history[0]
    # The prior's own weights were learned.
    prior_after = [w.numpy() for w in model.get_layer("dropout").prior.weights]
    assert any(not np.allclose(a, b) for a, b in zip(prior_before, prior_after))


def test_log_noise_is_normal_with_variance_alpha_squared():
    alpha, n_rows, units = 0.5, 200, 100  # 20,000 draws
    layer = _fixed_alpha_layer(alpha, units, seed=11)
    rng = np.random.default_rng(0)
    features = rng.uniform(0.5, 2.0, size=(n_rows, units)).astype("float32")

    log_ratio = np.log(np.asarray(layer(features, training=True)) / features).ravel()

    n = log_ratio.size
    # Four standard errors of the mean (alpha/sqrt(n)) and of the standard
    # deviation (about alpha/sqrt(2n)): a false failure has probability 1e-4.
    assert abs(log_ratio.mean()) < 4 * alpha / np.sqrt(n)
    assert abs(log_ratio.std() - alpha) < 4 * alpha / np.sqrt(2 * n)


def test_noise_matches_lognormal_cdf_dkw_bound():
    alpha, n_rows, units = 0.3, 200, 100
    layer = _fixed_alpha_layer(alpha, units, seed=12)
    features = np.full((n_rows, units), 3.0, "float32")
    noise = np.sort((np.asarray(layer(features, training=True)) / features).ravel())

    n = noise.size
    model_cdf = tfd.LogNormal(np.float32(0.0), np.float32(alpha)).cdf(noise).numpy()
    upper = np.arange(1, n + 1) / n
    lower = np.arange(0, n) / n
    ks_distance = max(np.max(upper - model_cdf), np.max(model_cdf - lower))
    # Dvoretzky-Kiefer-Wolfowitz: P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2).
    eps = np.sqrt(np.log(2 / 1e-6) / (2 * n))
    assert ks_distance < eps
    # The same bound rejects the mean-1 log-normal (log-mean -alpha^2/2) that
    # a "corrected" implementation would draw instead.
    shifted_cdf = tfd.LogNormal(np.float32(-alpha**2 / 2), np.float32(alpha)).cdf(noise).numpy()
    assert max(np.max(upper - shifted_cdf), np.max(shifted_cdf - lower)) > eps


def test_alpha_kl_map_and_added_loss_follow_the_paper():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 6)).astype("float32")
    layer = InformationDropout(max_alpha=0.7, beta=3.0, num_train_examples=50, seed=0)
    outputs, kl_map = layer(x, training=False, return_kl_map=True)

    kernel = layer.alpha_branch.kernel.numpy()
    bias = layer.alpha_branch.bias.numpy()
    alpha = 0.001 + 0.7 * _sigmoid(x @ kernel + bias)
    np.testing.assert_allclose(layer.noise_scale(x), alpha, rtol=1e-5)
    np.testing.assert_allclose(kl_map, -np.log(alpha / 0.701), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(outputs, x)
    assert len(layer.losses) == 1
    expected_loss = 3.0 * np.mean(np.sum(-np.log(alpha / 0.701), axis=1)) / 50
    np.testing.assert_allclose(layer.losses[0], expected_loss, rtol=1e-5)


def test_block_form_reads_alpha_from_block_inputs_with_stride():
    rng = np.random.default_rng(2)
    block_inputs = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    features = rng.uniform(0.1, 1.0, size=(2, 4, 4, 5)).astype("float32")
    layer = InformationDropout(
        max_alpha=1.0, prior="log_normal", alpha_kernel_size=3, alpha_strides=2, seed=0
    )
    layer([features, block_inputs])
    assert layer.alpha_branch.kernel.shape == (3, 3, 3, 5)

    logits = tf.nn.conv2d(
        block_inputs, layer.alpha_branch.kernel, strides=2, padding="SAME"
    ) + layer.alpha_branch.bias
    alpha = 0.001 + 1.0 * tf.sigmoid(logits)
    np.testing.assert_allclose(layer.noise_scale([features, block_inputs]), alpha, rtol=1e-5)

    _, kl_map = layer([features, block_inputs], return_kl_map=True)
    expected = tfd.kl_divergence(
        tfd.Normal(np.log(features), alpha), tfd.Normal(np.float32(0.0), np.float32(1.0))
    )
    np.testing.assert_allclose(kl_map, expected, rtol=1e-4, atol=1e-5)


def test_drop_in_form_on_feature_maps_uses_same_size_convolution():
    layer = InformationDropout(seed=0)
    outputs = layer(np.ones((2, 6, 6, 4), "float32"), training=True)
    assert outputs.shape == (2, 6, 6, 4)
    assert layer.alpha_branch.kernel.shape == (3, 3, 4, 4)
    assert layer.alpha_branch.strides == (1, 1)


def test_inference_is_exact_and_repeatable_training_is_random():
    x = np.random.default_rng(3).uniform(size=(4, 16)).astype("float32")
    layer = InformationDropout(seed=5)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    first, second = layer(x, training=True), layer(x, training=True)
    assert not np.allclose(first, second)
    assert not np.allclose(first, x)


def test_same_seed_gives_same_draws_different_seed_does_not():
    x = np.random.default_rng(4).uniform(size=(4, 16)).astype("float32")
    layers = [InformationDropout(seed=s) for s in (21, 21, 22)]
    for layer in layers:
        layer.build(x.shape)
        layer.set_weights(layers[0].get_weights())
    draws = [np.asarray(layer(x, training=True)) for layer in layers]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.allclose(draws[0], draws[2])


def test_stochastic_inference_draws_noise_without_training():
    x = np.ones((4, 16), "float32")
    layer = InformationDropout(stochastic_inference=True, seed=6)
    first, second = layer(x, training=False), layer(x, training=False)
    assert not np.allclose(first, x)
    assert not np.allclose(first, second)


def test_set_stochastic_inference_retraces_predict():
    inputs = keras.Input((16,))
    outputs = InformationDropout(seed=7)(keras.layers.Dense(16)(inputs))
    model = keras.Model(inputs, outputs)
    x = np.ones((4, 16), "float32")
    deterministic = model.predict(x, verbose=0)
    assert set_stochastic_inference(model, True) == 1
    noisy = model.predict(x, verbose=0)
    assert not np.allclose(noisy, deterministic)
    set_stochastic_inference(model, False)
    np.testing.assert_array_equal(model.predict(x, verbose=0), deterministic)


def test_gradient_reaches_alpha_through_the_reparameterisation():
    units, max_alpha, alpha = 5, 0.7, 0.4
    layer = _fixed_alpha_layer(alpha, units, max_alpha=max_alpha, beta=0.0, seed=8)
    features = np.random.default_rng(5).uniform(0.5, 2.0, size=(32, units)).astype("float32")
    with tf.GradientTape() as tape:
        outputs = layer(features, training=True)
        total = tf.reduce_sum(outputs)
    gradient = tape.gradient(total, layer.alpha_branch.bias.value)

    # d z / d bias = f * eps * n * max_alpha * s * (1 - s), with n recovered
    # from the draw as log(z / f) / alpha and s = sigmoid(bias).
    z = outputs.numpy()
    n = np.log(z / features) / alpha
    s = (alpha - ALPHA_MIN) / max_alpha
    expected = np.sum(z * n * max_alpha * s * (1 - s), axis=0)
    np.testing.assert_allclose(gradient, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("prior", ["log_uniform", "log_normal"])
@pytest.mark.parametrize("bias", [-60.0, 60.0])  # alpha at alpha_min, at the top
@pytest.mark.parametrize("feature_value", [0.0, 1e6])
def test_gradients_are_finite_at_the_limits(prior, bias, feature_value):
    units = 4
    layer = InformationDropout(prior=prior, beta=1.0, seed=9)
    layer.build((None, units))
    layer.alpha_branch.bias.assign(np.full((units,), bias, "float32"))
    features = tf.Variable(np.full((3, units), feature_value, "float32"))
    with tf.GradientTape() as tape:
        outputs = layer(features, training=True)
        loss = tf.reduce_mean(outputs) + tf.add_n(layer.losses)
    gradients = tape.gradient(loss, [features] + [w.value for w in layer.trainable_weights])
    assert np.isfinite(loss.numpy())
    for gradient in gradients:
        assert gradient is not None
        assert np.all(np.isfinite(gradient))


def test_config_round_trip_gives_identical_layer():
    layer = InformationDropout(
        max_alpha=1.0,
        prior=priors.LogNormalPrior(mu_initial_value=0.2),
        beta=0.5,
        num_train_examples=100,
        alpha_kernel_size=5,
        alpha_strides=2,
        stochastic_inference=True,
        seed=3,
        name="info",
    )
    config = layer.get_config()
    restored = InformationDropout.from_config(config)
    assert restored.get_config() == config
    assert isinstance(restored.prior, priors.LogNormalPrior)
    assert restored.prior.mu_initial_value == 0.2
    assert restored.kl_weight == 0.5 / 100


def test_works_in_sequential_and_subclassed_models():
    x = np.random.default_rng(6).uniform(size=(16, 10)).astype("float32")
    y = np.random.default_rng(7).integers(0, 2, size=(16,))

    sequential = keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(8, activation="relu"),
         InformationDropout(seed=1), keras.layers.Dense(2)]
    )

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(8, activation="softplus")
            self.noise = InformationDropout(prior="log_normal", seed=2)
            self.head = keras.layers.Dense(2)

        def call(self, inputs, training=None):
            return self.head(self.noise(self.hidden(inputs), training=training))

    for model in (sequential, Subclassed()):
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert len(model.losses) == 1


def test_fit_reduces_loss_with_kl_term_included():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(256, 10)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    inputs = keras.Input((10,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    noisy = InformationDropout(beta=1.0, num_train_examples=256, seed=3)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2)(noisy))
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cross_entropy_only = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        y, model(x)).numpy()
    kl_term = float(model.losses[0])
    # evaluate() reports cross-entropy plus the KL term added by the layer.
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), cross_entropy_only + kl_term,
                               rtol=1e-5)
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < 0.7 * history[0]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"max_alpha": 0.0}, r"`max_alpha`.*Received: max_alpha=0.0"),
        ({"max_alpha": -1}, r"`max_alpha`.*Received: max_alpha=-1"),
        ({"prior": "gaussian"}, r"`prior`.*Received: prior='gaussian'"),
        ({"beta": -0.1}, r"`beta`.*Received: beta=-0.1"),
        ({"num_train_examples": 0}, r"`num_train_examples`.*Received: num_train_examples=0"),
        ({"alpha_strides": 0}, r"`alpha_strides`.*Received: alpha_strides=0"),
        ({"seed": 1.5}, r"`seed`.*Received: seed=1.5"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InformationDropout(**kwargs)


def test_rank_mismatch_between_features_and_block_inputs_is_rejected():
    layer = InformationDropout()
    with pytest.raises(ValueError, match=r"same rank.*\(2, 4\).*\(2, 8, 8, 3\)"):
        layer([np.ones((2, 4), "float32"), np.ones((2, 8, 8, 3), "float32")])


def test_stride_mismatch_names_alpha_strides():
    layer = InformationDropout(alpha_strides=1)
    with pytest.raises(ValueError, match=r"alpha_strides=1.*Set `alpha_strides`"):
        layer([np.ones((2, 4, 4, 5), "float32"), np.ones((2, 8, 8, 3), "float32")])


def test_strides_on_vector_features_are_rejected():
    with pytest.raises(ValueError, match=r"vector features.*Received: alpha_strides=2"):
        InformationDropout(alpha_strides=2)(np.ones((2, 4), "float32"))


def test_unsupported_rank_is_rejected():
    with pytest.raises(ValueError, match=r"rank 2.*Received: features shape \(2,\)"):
        InformationDropout()(np.ones((2,), "float32"))


@pytest.mark.parametrize("policy,dtype", [("mixed_float16", "float16"),
                                          ("mixed_bfloat16", "bfloat16")])
@pytest.mark.parametrize("prior", ["log_uniform", "log_normal"])
def test_mixed_precision_computes_noise_and_kl_in_float32(policy, dtype, prior):
    keras.config.set_dtype_policy(policy)
    layer = InformationDropout(prior=prior, beta=1.0, seed=4)
    # Zeros, tiny and large activations: logs and alpha would lose precision
    # or overflow in 16 bits.
    features = tf.constant([[0.0, 1e-6, 1.0, 3e4]] * 8, dtype=dtype)
    outputs, kl_map = layer(features, training=True, return_kl_map=True)
    assert outputs.dtype == dtype
    assert kl_map.dtype == "float32"
    assert layer.losses[0].dtype == "float32"
    assert np.all(np.isfinite(kl_map.numpy()))
    assert np.all(np.isfinite(tf.cast(outputs, "float32").numpy()))
    assert all(w.dtype == "float32" for w in layer.weights if w.dtype.startswith("float"))

    inputs = keras.Input((10,))
    hidden = keras.layers.Dense(8, activation="softplus")(inputs)
    noisy = InformationDropout(prior=prior, num_train_examples=32, seed=5)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2, dtype="float32")(noisy))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(9).normal(size=(32, 10)).astype("float32")
    history = model.fit(x, np.arange(32) % 2, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_block_model_trains_under_xla():
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="softplus")(inputs)
    noisy = InformationDropout(prior="log_normal", alpha_strides=2, num_train_examples=32,
                               seed=1)([features, inputs])
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(noisy)))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True)
    x = np.random.default_rng(10).uniform(size=(32, 8, 8, 3)).astype("float32")
    history = model.fit(x, np.arange(32) % 2, epochs=3, batch_size=8, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.parametrize(
    "name,value",
    [
        ("max_alpha", float("inf")),
        ("max_alpha", float("nan")),
        ("max_alpha", True),
        ("beta", float("inf")),
        ("beta", float("nan")),
        ("beta", True),
        ("num_train_examples", True),
        ("num_train_examples", 1000.0),
        ("alpha_kernel_size", True),
        ("alpha_strides", True),
        ("alpha_strides", 1.0),
        ("seed", True),
        ("seed", "1"),
    ],
)
def test_non_finite_floats_and_booleans_as_numbers_are_rejected(name, value):
    # Before, an infinite max_alpha or beta gave a NaN loss, seed=True a
    # tensor-conversion error, and alpha_kernel_size=True a 1x1 kernel.
    with pytest.raises(ValueError, match=rf"argument `{name}`\..*Received: {name}={value!r}$"):
        InformationDropout(**{name: value})


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
@pytest.mark.parametrize("training", [True, False])
def test_integer_and_boolean_features_are_rejected_in_every_mode(dtype, training):
    layer = InformationDropout(seed=0, name="info")
    features = np.ones((2, 4), dtype)
    with pytest.raises(ValueError, match=rf"InformationDropout layer 'info' expects "
                                         rf"floating-point features\. Received: features of "
                                         rf"dtype {dtype}\. Cast the inputs to float first"):
        layer(features, training=training)


def test_integer_block_inputs_and_symbolic_integer_inputs_are_rejected():
    features = np.ones((2, 4, 4, 3), "float32")
    with pytest.raises(ValueError, match=r"'info' expects floating-point block_inputs\. "
                                         r"Received: block_inputs of dtype int32"):
        InformationDropout(name="info")([features, np.ones((2, 4, 4, 3), "int32")])
    # At model-building time too, before any data flows.
    with pytest.raises(ValueError, match=r"floating-point features\. .*dtype uint8"):
        InformationDropout(name="info")(keras.Input((4,), dtype="uint8"))


@pytest.mark.parametrize("prior", ["log_uniform", "log_normal"])
@pytest.mark.parametrize("shape", [(0, 5), (0, 4, 4, 3)])
def test_empty_batch_gives_empty_output_and_exactly_zero_kl(prior, shape):
    layer = InformationDropout(prior=prior, beta=3.0, num_train_examples=10, seed=0)
    features = tf.Variable(np.ones(shape, "float32"))
    with tf.GradientTape() as tape:
        outputs, kl_map = layer(features, training=True, return_kl_map=True)
        loss = layer.losses[0]
    assert outputs.shape == shape and kl_map.shape == shape
    # The documented value: the mean KL over no examples is 0, not 0/0.
    assert float(loss) == 0.0
    assert float(layer.kl_per_example) == 0.0
    gradients = tape.gradient(loss, layer.trainable_weights)
    for gradient in gradients:
        np.testing.assert_array_equal(gradient, np.zeros(gradient.shape))


@pytest.mark.parametrize("prior", ["log_uniform", "log_normal"])
@pytest.mark.parametrize("training", [True, False])
def test_a_nan_input_gives_nan_outputs_and_a_nan_loss_as_documented(prior, training):
    features = np.full((3, 5), 0.5, "float32")
    layer = InformationDropout(prior=prior, beta=3.0, num_train_examples=10, seed=0)
    assert np.isfinite(layer(features, training=training)).all()
    assert np.isfinite(float(layer.losses[0]))
    features[1, 2] = np.nan
    outputs = np.asarray(layer(features, training=training))
    # The unit's output (when drawing noise, its example's: alpha's branch
    # reads every unit) and the KL averaged over the batch; the other
    # examples' outputs stay finite.
    assert np.isnan(outputs[1, 2]) and np.isfinite(outputs[[0, 2]]).all()
    assert np.isnan(outputs[1]).all() == training
    assert np.isnan(float(layer.losses[0]))
