"""The VAE: negative ELBO and the importance-weighted log-likelihood bound."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import models

tfd = tfp.distributions


def _binary_images(n=6):
    return (np.random.default_rng(0).uniform(size=(n, 28, 28, 1)) > 0.6).astype("float32")


@pytest.mark.parametrize("latent, beta", [("gaussian", 1.0), ("information_dropout", 1.0),
                                          ("gaussian", 4.0), ("information_dropout", 0.25)])
def test_negative_elbo_matches_a_hand_computation(latent, beta):
    # beta = 1: the negative ELBO; otherwise the beta-VAE objective (Eq. 7).
    model = models.build({"name": "vae", "latent": latent, "seed": 0, "beta": beta})
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
        prior = model.latent.prior.distribution()
        m2, s2 = (np.asarray(prior.loc, "float64"), np.asarray(prior.scale, "float64"))
    m1, s1 = (np.asarray(posterior.loc, "float64"), np.asarray(posterior.scale, "float64"))
    kl = np.sum(np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5, axis=1)
    assert kl.mean() > 1.0  # large enough to matter at this tolerance
    np.testing.assert_allclose(loss, -log_likelihood.mean() + beta * kl.mean(), rtol=1e-5)


@pytest.mark.parametrize("latent", ["gaussian", "information_dropout"])
def test_negative_elbo_is_computed_from_the_latents_tfd_objects(latent):
    model = models.build({"name": "vae", "latent": latent, "seed": 2})
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


@pytest.mark.parametrize("latent", ["gaussian", "information_dropout"])
def test_importance_weighted_bound_is_consistent_with_the_elbo(latent):
    model = models.build({"name": "vae", "latent": latent, "seed": 1})
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
