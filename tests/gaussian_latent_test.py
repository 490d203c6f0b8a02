"""GaussianLatent: the reparameterised Gaussian of the VAE and VIB."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf.layers import GaussianLatent

tfd = tfp.distributions


def test_kl_map_matches_tfp_and_loss_is_weighted():
    h = np.random.default_rng(0).normal(size=(16, 5)).astype("float32")
    layer = GaussianLatent(3, beta=2.0, num_train_examples=10, seed=0)
    _, kl_map = layer(h, return_kl_map=True)
    mu, sigma = (np.asarray(t) for t in layer.posterior(h))
    expected = tfd.kl_divergence(tfd.Normal(mu, sigma), tfd.Normal(np.float32(0), np.float32(1)))
    np.testing.assert_allclose(kl_map, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.losses[0], 2.0 * np.mean(np.sum(expected, axis=1)) / 10,
                               rtol=1e-5)
    np.testing.assert_allclose(layer.kl_per_example, np.mean(np.sum(expected, axis=1)), rtol=1e-5)


def test_samples_have_the_posterior_moments_and_inference_returns_the_mean():
    layer = GaussianLatent(2, seed=1)
    h = np.ones((20_000, 3), "float32")
    z = np.asarray(layer(h, training=True))
    mu, sigma = (np.asarray(t)[0] for t in layer.posterior(h[:1]))
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
