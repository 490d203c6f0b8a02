"""GaussianLatent: the reparameterised Gaussian of the VAE and VIB."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf.layers import GaussianLatent

tfd = tfp.distributions


def _next_seed_of(layer):
    """The stateless seed the layer's next draw uses, without consuming it."""
    state = layer.seed_generator.state.numpy()
    seed = layer._next_seed()
    layer.seed_generator.state.assign(state)
    return seed


def test_posterior_and_prior_are_tfd_normals_from_the_two_heads():
    h = np.random.default_rng(0).normal(size=(16, 5)).astype("float32")
    layer = GaussianLatent(3, seed=0)
    posterior = layer.posterior(h)
    assert isinstance(posterior, tfd.Normal)
    assert posterior.batch_shape == (16, 3) and posterior.dtype == tf.float32
    mean_kernel, mean_bias = (w.numpy() for w in layer.mean_dense.weights)
    scale_kernel, scale_bias = (w.numpy() for w in layer.scale_dense.weights)
    np.testing.assert_allclose(posterior.loc, h @ mean_kernel + mean_bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(posterior.scale, np.logaddexp(0, h @ scale_kernel + scale_bias)
                               + 1e-4, rtol=1e-5)
    prior = layer.prior_distribution()
    assert isinstance(prior, tfd.Normal)
    assert (float(prior.loc), float(prior.scale)) == (0.0, 1.0)


def test_sample_is_the_posterior_sample_for_the_same_seed():
    h = np.random.default_rng(1).normal(size=(8, 5)).astype("float32")
    layer = GaussianLatent(4, seed=5)
    layer.build(h.shape)
    seed = _next_seed_of(layer)
    z = layer(h, training=True)
    np.testing.assert_array_equal(z, layer.posterior(h).sample(seed=seed))


def test_kl_map_matches_tfp_and_the_closed_form_and_loss_is_weighted():
    h = np.random.default_rng(0).normal(size=(16, 5)).astype("float32")
    layer = GaussianLatent(3, beta=2.0, num_train_examples=10, seed=0)
    _, kl_map = layer(h, return_kl_map=True)
    posterior = layer.posterior(h)
    expected = tfd.kl_divergence(posterior, tfd.Normal(np.float32(0), np.float32(1)))
    np.testing.assert_allclose(kl_map, expected, rtol=1e-6, atol=1e-6)
    # The original's `KL_div`, in float64.
    mu, sigma = (np.asarray(t, "float64") for t in (posterior.loc, posterior.scale))
    np.testing.assert_allclose(kl_map, 0.5 * (mu**2 + sigma**2 - 1) - np.log(sigma),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layer.losses[0], 2.0 * np.mean(np.sum(expected, axis=1)) / 10,
                               rtol=1e-5)
    np.testing.assert_allclose(layer.kl_per_example, np.mean(np.sum(expected, axis=1)), rtol=1e-5)


def test_samples_have_the_posterior_moments_and_inference_returns_the_mean():
    layer = GaussianLatent(2, seed=1)
    h = np.ones((20_000, 3), "float32")
    z = np.asarray(layer(h, training=True))
    posterior = layer.posterior(h[:1])
    mu, sigma = np.asarray(posterior.loc)[0], np.asarray(posterior.scale)[0]
    n = z.shape[0]
    # Four standard errors of the mean and of the standard deviation.
    assert np.all(np.abs(z.mean(axis=0) - mu) < 4 * sigma / np.sqrt(n))
    assert np.all(np.abs(z.std(axis=0) - sigma) < 4 * sigma / np.sqrt(2 * n))
    np.testing.assert_array_equal(layer(h[:4]), np.tile(mu, (4, 1)))


def test_config_round_trip_and_mixed_precision():
    layer = GaussianLatent(4, beta=0.5, num_train_examples=7, stochastic_inference=True, seed=3)
    assert GaussianLatent.from_config(layer.get_config()).get_config() == layer.get_config()
    keras.config.set_dtype_policy("mixed_float16")
    layer = GaussianLatent(4, seed=3)
    z, kl_map = layer(np.full((2, 3), 1e3, "float16"), training=True, return_kl_map=True)
    assert z.dtype == "float16" and kl_map.dtype == "float32"
    assert np.all(np.isfinite(np.asarray(kl_map)))


@pytest.mark.parametrize("kwargs,match", [({"units": 0}, r"`units`.*Received: units=0"),
                                          ({"units": 2, "beta": -1}, r"`beta`.*Received: beta=-1")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianLatent(**kwargs)


def test_rank_is_checked():
    with pytest.raises(ValueError, match=r"rank 2.*\(2, 3, 4\)"):
        GaussianLatent(2)(np.ones((2, 3, 4), "float32"))


@pytest.mark.parametrize(
    "kwargs,name,value",
    [
        ({"units": True}, "units", True),
        ({"units": 2.0}, "units", 2.0),
        ({"units": 2, "beta": float("inf")}, "beta", float("inf")),
        ({"units": 2, "beta": float("nan")}, "beta", float("nan")),
        ({"units": 2, "num_train_examples": True}, "num_train_examples", True),
        ({"units": 2, "seed": True}, "seed", True),
    ],
)
def test_non_finite_and_boolean_arguments_are_rejected(kwargs, name, value):
    with pytest.raises(ValueError, match=rf"argument `{name}`\..*Received: {name}={value!r}$"):
        GaussianLatent(**kwargs)


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_integer_inputs_are_rejected(dtype):
    with pytest.raises(ValueError, match=rf"GaussianLatent layer 'latent' expects floating-point "
                                         rf"inputs\. Received: inputs of dtype {dtype}"):
        GaussianLatent(2, name="latent")(np.ones((2, 3), dtype), training=True)


def test_empty_batch_gives_an_empty_sample_and_exactly_zero_kl():
    layer = GaussianLatent(3, beta=2.0, num_train_examples=10, seed=0)
    inputs = tf.Variable(np.ones((0, 5), "float32"))
    with tf.GradientTape() as tape:
        z = layer(inputs, training=True)
        loss = layer.losses[0]
    assert z.shape == (0, 3)
    assert float(loss) == 0.0 and float(layer.kl_per_example) == 0.0
    for gradient in tape.gradient(loss, layer.trainable_weights):
        assert np.all(np.isfinite(gradient))
