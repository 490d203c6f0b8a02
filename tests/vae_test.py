"""The VAE: negative ELBO and the importance-weighted log-likelihood bound."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import models
from infodropout_tf.layers import set_stochastic_inference
from infodropout_tf.training import config as config_lib
from infodropout_tf.training import trainer

tfd = tfp.distributions

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"

# The model options of issue 31 (docs/results.md row 1), each away from its
# default, and all together.
OPTIONS = [
    {"decoder_input": "log_z"},
    {"activation": "tanh"},
    {"max_alpha": 0.7},
    {"prior": "log_normal_per_unit"},
    {"decoder_input": "log_z", "activation": "tanh", "max_alpha": 0.7,
     "prior": "log_normal_per_unit"},
]


def _binary_images(n=6):
    return (np.random.default_rng(0).uniform(size=(n, 28, 28, 1)) > 0.6).astype("float32")


@pytest.mark.parametrize("latent, beta, options", [
    ("gaussian", 1.0, {}), ("information_dropout", 1.0, {}), ("gaussian", 4.0, {}),
    ("information_dropout", 0.25, {}),
    ("information_dropout", 1.0, {"decoder_input": "log_z", "prior": "log_normal_per_unit"})])
def test_negative_elbo_matches_a_hand_computation(latent, beta, options):
    # beta = 1: the negative ELBO; otherwise the beta-VAE objective (Eq. 7).
    model = models.build({"name": "vae", "latent": latent, "seed": 0, "beta": beta, **options})
    if options:  # per-unit prior parameters away from their shared start
        rng = np.random.default_rng(5)
        model.latent.prior.parameter_weights["loc"].assign(rng.normal(-0.5, 0.5, 256))
        model.latent.prior.parameter_weights["scale"].assign(rng.normal(0.5, 0.3, 256))
    assert models.VAE.from_config(model.get_config()).latent.beta == beta
    x = _binary_images()
    logits = model(x)
    loss = float(model.compute_loss(x, None, logits))
    l = np.asarray(logits).astype("float64")
    # Bernoulli log-likelihood: x log sigmoid(l) + (1 - x) log sigmoid(-l).
    log_likelihood = np.sum(x * -np.logaddexp(0, -l) + (1 - x) * -np.logaddexp(0, l),
                            axis=(1, 2, 3))
    # The KL in closed form from the posterior's and the prior's parameters,
    # in numpy: for two normals, and for two log-normals (the same value, KL
    # is invariant under z -> exp(z)),
    # log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2 per unit.
    hidden = model.encoder(x)
    if latent == "gaussian":
        posterior, (m2, s2) = model.latent.posterior(hidden), (0.0, 1.0)
    else:
        features = model.latent_features(hidden)
        assert float(tf.reduce_min(features)) > 1e-4  # above the KL's clamp of f
        posterior = model.latent.posterior([features, hidden])
        if options:  # from the weights: sigma = softplus(u) + 1e-3 per unit
            weights = model.latent.prior.parameter_weights
            m2 = np.asarray(weights["loc"], "float64")
            s2 = np.logaddexp(0, np.asarray(weights["scale"], "float64")) + 1e-3
        else:
            prior = model.latent.prior.distribution()
            m2, s2 = (np.asarray(prior.loc, "float64"), np.asarray(prior.scale, "float64"))
    m1, s1 = (np.asarray(posterior.loc, "float64"), np.asarray(posterior.scale, "float64"))
    kl = np.sum(np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5, axis=1)
    assert kl.mean() > 1.0  # large enough to matter at this tolerance
    np.testing.assert_allclose(loss, -log_likelihood.mean() + beta * kl.mean(), rtol=1e-5)


@pytest.mark.parametrize("latent, decoder_input", [
    ("gaussian", "z"), ("information_dropout", "z"), ("information_dropout", "log_z")])
def test_negative_elbo_is_computed_from_the_latents_tfd_objects(latent, decoder_input):
    model = models.build({"name": "vae", "latent": latent, "seed": 2,
                          "decoder_input": decoder_input})
    x = _binary_images()
    hidden = model.encoder(x)
    state = model.latent.seed_generator.state.numpy()
    seed = model.latent._next_seed()  # the seed of the model's next draw
    model.latent.seed_generator.state.assign(state)
    loss = float(model.compute_loss(x, None, model(x)))

    if latent == "gaussian":
        posterior = model.latent.posterior(hidden)
        prior = model.latent.prior_distribution()
        assert isinstance(posterior, tfd.Normal) and isinstance(prior, tfd.Normal)
    else:
        features = model.latent_features(hidden)
        posterior = model.latent.posterior([features, hidden])
        prior = model.latent.prior.distribution()
        assert isinstance(posterior, tfd.LogNormal) and isinstance(prior, tfd.LogNormal)
        # Above the 1e-4 clamp of the layer's KL, which is then exactly
        # KL(posterior || prior).
        assert float(tf.reduce_min(features)) > 1e-4
    z = posterior.sample(seed=seed)  # the model's own draw
    if decoder_input == "log_z":
        z = posterior.distribution.sample(seed=seed)  # its log
    log_likelihood = tfd.Independent(tfd.Bernoulli(logits=model.decoder(z)), 3).log_prob(x)
    kl = tf.reduce_sum(tfd.kl_divergence(posterior, prior), axis=1)
    expected = float(tf.reduce_mean(kl - log_likelihood))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    assert float(tf.reduce_mean(kl)) > 1.0  # the KL term matters at this tolerance

    # The importance-weighted bound reads the same objects (over log z for
    # the information-dropout latent).
    bound_posterior, bound_prior, _ = model.latent_distributions(hidden)
    base = (lambda d: d) if latent == "gaussian" else (lambda d: d.distribution)
    for ours, theirs in ((bound_posterior, base(posterior)), (bound_prior, base(prior))):
        assert type(ours) is type(theirs)
        np.testing.assert_array_equal(ours.loc, theirs.loc)
        np.testing.assert_array_equal(ours.scale, theirs.scale)


@pytest.mark.parametrize("latent, options", [
    ("gaussian", {}), ("information_dropout", {}),
    ("information_dropout", {"decoder_input": "log_z"}),
    ("information_dropout", {"prior": "log_normal_per_unit"})])
def test_importance_weighted_bound_is_consistent_with_the_elbo(latent, options):
    model = models.build({"name": "vae", "latent": latent, "seed": 1, **options})
    x = _binary_images(4)
    # The analytic-KL ELBO, averaged over many latent draws.
    draws = [float(model.compute_loss(x, None, model(x))) for _ in range(200)]
    elbo = -np.mean(draws)
    elbo_error = np.std(draws) / np.sqrt(len(draws))

    # k = 1: the same ELBO with a Monte-Carlo KL; averaged over 2000 draws.
    one_sample = np.stack([model.importance_weighted_log_likelihood(x, 1).numpy()
                           for _ in range(50)])  # 50 repeats of 4 examples
    one_sample_means = one_sample.mean(axis=1)
    one_sample_error = one_sample_means.std() / np.sqrt(len(one_sample_means))
    assert abs(one_sample_means.mean() - elbo) < 5 * np.hypot(elbo_error, one_sample_error)

    # The bound tightens with k: 100 samples beat the ELBO per example.
    many = model.importance_weighted_log_likelihood(x, 100).numpy()
    assert np.all(many > one_sample.mean(axis=0))


def test_bad_vae_arguments():
    with pytest.raises(ValueError, match=r"`latent`.*Received: latent='flow'"):
        models.build({"name": "vae", "latent": "flow"})
    with pytest.raises(ValueError, match=r"`width_multiplier`.*Received: width_multiplier=0"):
        models.build({"name": "vae", "width_multiplier": 0})
    with pytest.raises(ValueError, match=r"`num_samples`.*Received: num_samples=0"):
        models.build({"name": "vae"}).importance_weighted_log_likelihood(_binary_images(1), 0)


def test_labels_in_the_data_do_not_change_the_objective():
    # A dataset of (image, label) pairs, as the trainers feed it, must train
    # on the reconstruction of the image: the labels are no target.
    model = models.build({"name": "vae", "latent": "gaussian", "seed": 0})
    x = _binary_images()
    labels = np.arange(len(x)) % 10
    logits = model(x)
    with_labels = float(model.compute_loss(x, labels, logits))
    without = float(model.compute_loss(x, None, logits))
    assert with_labels == pytest.approx(without, rel=1e-6)
    # The negative ELBO of 784 Bernoulli pixels at initialisation is about
    # 784 log 2 = 543 nats; a label target would make it negative.
    assert 300 < with_labels < 1000


@pytest.mark.parametrize(
    "config,name,value",
    [
        ({"max_alpha": float("inf")}, "max_alpha", float("inf")),
        ({"latent": "information_dropout", "max_alpha": float("nan")}, "max_alpha",
         float("nan")),
        ({"hidden_layers": True}, "hidden_layers", True),
        ({"seed": True}, "seed", True),
    ],
)
def test_non_finite_and_boolean_vae_arguments(config, name, value):
    with pytest.raises(ValueError, match=rf"`{name}`\..*Received: {name}={value!r}$"):
        models.build({"name": "vae", **config})


@pytest.mark.parametrize("latent", ["gaussian", "information_dropout"])
def test_empty_batch_has_exactly_zero_loss_and_finite_gradients(latent):
    model = models.build({"name": "vae", "latent": latent, "seed": 0})
    x = np.zeros((0, 28, 28, 1), "float32")
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = model.compute_loss(x, None, logits)
    assert logits.shape == (0, 28, 28, 1)
    assert float(loss) == 0.0
    for gradient in tape.gradient(loss, model.trainable_weights):
        assert gradient is None or np.all(np.isfinite(gradient))


# The options of issue 31 -----------------------------------------------------------


def _weights(layer):
    """A dense layer's kernel and bias in float64."""
    return np.asarray(layer.kernel, "float64"), np.asarray(layer.bias, "float64")


def _replay(layer):
    """The seed of `layer`'s next draw, and a function that rewinds to it."""
    state = layer.seed_generator.state.numpy()
    seed = layer._next_seed()
    layer.seed_generator.state.assign(state)
    return seed, lambda: layer.seed_generator.state.assign(state)


def test_with_log_z_the_decoder_reads_log_f_plus_alpha_n_of_the_layers_draw():
    model = models.build({"name": "vae", "latent": "information_dropout", "seed": 3,
                          "decoder_input": "log_z"})
    # Unit 0 is driven below the KL's clamp of f at 1e-4 (softplus(-30) ~ 1e-13).
    bias = model.latent_features.bias.numpy()
    bias[0] = -30.0
    model.latent_features.bias.assign(bias)
    x = _binary_images()
    # The forward pass in float64 numpy, from the weights.
    kernel, b = _weights(model.encoder.get_layer("hidden1"))
    hidden = np.tanh(x.reshape(len(x), -1) @ kernel + b)  # the default activation
    kernel, b = _weights(model.latent_features)
    f = np.logaddexp(0.0, hidden @ kernel + b)
    kernel, b = _weights(model.latent.alpha_branch)
    alpha = 0.001 + 0.7 / (1.0 + np.exp(-(hidden @ kernel + b)))  # max_alpha 0.7
    seed, rewind = _replay(model.latent)
    n = tf.random.stateless_normal(f.shape, seed=seed, alg="philox").numpy()
    log_z = np.log(np.maximum(f, 1e-4)) + alpha * n
    assert f[:, 0].max() < 1e-4 and f[:, 1:].min() > 1e-4

    np.testing.assert_allclose(model.encode(x), log_z, rtol=1e-5, atol=1e-5)
    rewind()
    np.testing.assert_allclose(model(x), model.decoder(log_z.astype("float32")),
                               rtol=1e-5, atol=1e-5)

    # With decoder_input="z", the same weights and draw: the decoder reads z,
    # exp(log z) above the clamp and f exp(alpha n) ~ 1e-13 below it.
    z_model = models.build({"name": "vae", "latent": "information_dropout", "seed": 3,
                            "decoder_input": "z"})
    z_model.set_weights(model.get_weights())
    rewind()
    z_model.latent.seed_generator.state.assign(model.latent.seed_generator.state)
    z = z_model.encode(x).numpy()
    np.testing.assert_allclose(z[:, 1:], np.exp(log_z[:, 1:]), rtol=1e-4)
    np.testing.assert_allclose(z[:, 0], f[:, 0] * np.exp(alpha[:, 0] * n[:, 0]), rtol=1e-4)
    assert np.all(z > 0.0) and np.abs(log_z).max() > 1.0  # the two inputs really differ


def test_the_gaussian_latent_ignores_decoder_input_and_prior():
    default = models.build({"name": "vae", "latent": "gaussian", "seed": 4})
    other = models.build({"name": "vae", "latent": "gaussian", "seed": 4,
                          "decoder_input": "log_z", "prior": "log_normal_per_unit"})
    assert [w.path for w in other.weights] == [w.path for w in default.weights]
    other.set_weights(default.get_weights())
    x = _binary_images()
    logits = default(x)
    np.testing.assert_array_equal(other(x), logits)  # the same seed: the same draw
    assert float(other.compute_loss(x, None, logits)) == float(
        default.compute_loss(x, None, logits))


@pytest.mark.parametrize("latent", ["gaussian", "information_dropout"])
def test_tanh_hidden_units_are_tanh_in_the_encoder_and_the_decoder(latent):
    model = models.build({"name": "vae", "latent": latent, "activation": "tanh", "seed": 0})
    x = _binary_images()
    kernel, bias = _weights(model.encoder.get_layer("hidden1"))
    hidden = model.encoder(x).numpy()
    np.testing.assert_allclose(hidden, np.tanh(x.reshape(len(x), -1) @ kernel + bias),
                               atol=1e-5)
    assert hidden.min() < -0.5  # a ReLU's never are
    z = np.random.default_rng(1).normal(size=(6, 256)).astype("float32")
    kernel, bias = _weights(model.decoder.get_layer("hidden1"))
    np.testing.assert_allclose(model.decoder.get_layer("hidden1")(z),
                               np.tanh(z @ kernel + bias), atol=1e-5)


def test_per_unit_prior_learns_a_mu_and_sigma_per_latent_unit():
    model = models.build({"name": "vae", "latent": "information_dropout", "seed": 5,
                          "prior": "log_normal_per_unit", "width_multiplier": 2})
    prior = model.latent.prior
    weights = {w.name: w for w in prior.trainable_weights}
    assert sorted(weights) == ["loc", "scale"]
    assert all(w.shape == (512,) for w in weights.values())  # 256 k latent units
    # It starts where the original's shared prior starts: mu = 0, sigma = 1.
    np.testing.assert_array_equal(prior.distribution().loc, np.zeros(512))
    # (Up to one float32 step: Eigen's vectorised softplus of a long vector
    # rounds differently from the scalar one.)
    np.testing.assert_allclose(prior.distribution().scale, np.ones(512), rtol=2e-7)

    rng = np.random.default_rng(7)
    weights["loc"].assign(rng.normal(-1.0, 0.5, 512))
    weights["scale"].assign(rng.normal(0.5, 0.5, 512))
    x = _binary_images()
    hidden = model.encoder(x)
    features = model.latent_features(hidden)
    _, kl_map = model.latent([features, hidden], return_kl_map=True)
    # Per unit, the KL of two normals over log z, from the weights.
    kernel, bias = _weights(model.latent.alpha_branch)
    s1 = 0.001 + 0.7 / (1.0 + np.exp(-(np.asarray(hidden, "float64") @ kernel + bias)))
    m1 = np.log(np.maximum(np.asarray(features, "float64"), 1e-4))
    m2 = np.asarray(weights["loc"], "float64")
    s2 = np.logaddexp(0.0, np.asarray(weights["scale"], "float64")) + 1e-3
    closed_form = np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    np.testing.assert_allclose(kl_map, closed_form, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(kl_map, tfd.kl_divergence(tfd.Normal(m1, s1), tfd.Normal(m2, s2)),
                               rtol=1e-5, atol=1e-6)
    # One shared (mu, sigma), even the best-placed, is not this prior.
    shared = (np.log(s2.mean() / s1) + (s1**2 + (m1 - m2.mean()) ** 2) / (2 * s2.mean()**2)
              - 0.5)
    assert np.abs(shared - closed_form).max() > 1.0

    # Every unit's own parameters get a gradient from the loss.
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x, None, model(x, training=True))
    gradients = tape.gradient(loss, [weights["loc"], weights["scale"]])
    assert all(np.all(np.asarray(g) != 0.0) for g in gradients)


@pytest.mark.parametrize("latent, options",
                         [("information_dropout", options) for options in OPTIONS]
                         + [("gaussian", {"activation": "tanh"}), ("gaussian", OPTIONS[-1])])
def test_keras_file_round_trip_reproduces_each_setting(latent, options, tmp_path):
    model = models.build({"name": "vae", "latent": latent, "seed": 6, **options})
    x = _binary_images()
    model(x)  # built, as a trained model is
    rng = np.random.default_rng(6)
    # Away from the initialisation, the prior's parameters too.
    model.set_weights([w + rng.normal(0.0, 0.05, w.shape).astype(w.dtype)
                       if w.dtype.kind == "f" else w for w in model.get_weights()])
    path = str(tmp_path / "vae.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_config() == model.get_config()
    assert {key: loaded.get_config()[key] for key in options} == options
    assert type(loaded.latent.prior if latent != "gaussian" else loaded.latent) is type(
        model.latent.prior if latent != "gaussian" else model.latent)
    # Without noise: the posterior's mean (log f for log_z), the same from both.
    for each in (model, loaded):
        set_stochastic_inference(each, False)
    logits = model(x)
    np.testing.assert_array_equal(loaded(x), logits)
    # The loss also holds the KL, from alpha and the prior's weights.
    np.testing.assert_allclose(float(loaded.compute_loss(x, None, loaded(x))),
                               float(model.compute_loss(x, None, logits)), rtol=1e-6)


@pytest.mark.parametrize("name, value, expected", [
    ("decoder_input", "logz", "one of ['z', 'log_z']"),
    ("prior", "log_uniform", "one of ['log_normal', 'log_normal_per_unit']"),
    ("activation", "tanhh", "the name of a Keras activation, e.g. 'relu' or 'tanh'"),
    ("activation", None, "the name of a Keras activation, e.g. 'relu' or 'tanh'"),
])
def test_bad_option_values_are_refused_in_one_line(name, value, expected):
    with pytest.raises(ValueError) as error:
        models.build({"name": "vae", "latent": "information_dropout", name: value})
    assert str(error.value) == (f"Invalid value received for argument `{name}`. Expected "
                                f"{expected}. Received: {name}={value!r}")


def test_a_bad_option_in_the_config_is_one_line_and_writes_nothing(tmp_path):
    config = config_lib.from_file(CONFIGS / "mnist_vae.py")
    config.model.decoder_input = "logz"
    workdir = tmp_path / "run"
    with pytest.raises(config_lib.ConfigError,
                       match=r"^invalid config field in `model`: Invalid value received for "
                             r"argument `decoder_input`\. Expected one of \['z', 'log_z'\]\. "
                             r"Received: decoder_input='logz'$"):
        trainer.train_and_evaluate(config, str(workdir))
    assert not workdir.exists()
