"""Draws of tfd distributions from a noise layer's seed stream, and its saved state."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import layers
from infodropout_tf.layers import GaussianDropout
from infodropout_tf.layers import InformationDropout
from infodropout_tf.layers.noise_layer import reparameterized_sample

tfd = tfp.distributions


def _distributions():
    rng = np.random.default_rng(0)
    loc = rng.normal(size=(3, 4)).astype("float32")
    scale = rng.uniform(0.1, 2.0, size=(3, 4)).astype("float32")
    return tfd.Normal(loc, scale), tfd.LogNormal(loc, scale)


@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 3)])
def test_reparameterized_sample_is_tfps_sample_for_the_same_seed(sample_shape):
    seed = tf.constant([17, 4], "int32")
    for distribution in _distributions():
        ours = reparameterized_sample(distribution, sample_shape, seed)
        assert ours.shape == (*sample_shape, 3, 4)
        # Philox named here is what "auto_select" runs without XLA.
        np.testing.assert_array_equal(ours, distribution.sample(sample_shape, seed=seed))


def test_reparameterized_sample_is_differentiable_in_loc_and_scale():
    loc, scale = tf.Variable([0.5, -1.0]), tf.Variable([0.3, 2.0])
    seed = tf.constant([1, 2], "int32")
    with tf.GradientTape() as tape:
        z = reparameterized_sample(tfd.LogNormal(loc, scale), (1000,), seed)
        total = tf.reduce_sum(z)
    d_loc, d_scale = tape.gradient(total, [loc, scale])
    n = tf.random.stateless_normal((1000, 2), seed, alg="philox")
    # d exp(loc + scale n) = z d loc + z n d scale.
    np.testing.assert_allclose(d_loc, tf.reduce_sum(z, axis=0), rtol=1e-5)
    np.testing.assert_allclose(d_scale, tf.reduce_sum(z * n, axis=0), rtol=1e-5)


def test_draw_advances_the_layers_seed_stream_and_repeats_with_its_seed():
    distribution = _distributions()[0]
    layers = [GaussianDropout(0.5, seed=s) for s in (3, 3, 4)]
    first = [np.asarray(layer.draw(distribution)) for layer in layers]
    np.testing.assert_array_equal(first[0], first[1])
    assert not np.allclose(first[0], first[2])
    assert not np.allclose(layers[0].draw(distribution), first[0])


def test_reparameterized_sample_rejects_other_distributions():
    with pytest.raises(TypeError, match=r"tfd.Normal.*tfd.LogNormal.*Received: Gamma"):
        reparameterized_sample(tfd.Gamma(1.0, 1.0), (), tf.constant([1, 2], "int32"))


_X = np.random.default_rng(1).uniform(0.1, 2.0, size=(4, 6)).astype("float32")


@pytest.mark.parametrize("make_layer, output_shape, adds_kl, options", [
    # Arguments away from their defaults, so a config that lost one shows.
    (lambda seed: layers.InformationDropout(max_alpha=0.4, seed=seed), (4, 6), True, {}),
    (lambda seed: layers.InformationDropout(prior="log_normal", seed=seed), (4, 6), True, {}),
    (lambda seed: layers.BinaryDropout(0.3, seed=seed), (4, 6), False, {}),
    (lambda seed: layers.GaussianDropout(0.2, seed=seed), (4, 6), False, {}),
    (lambda seed: layers.ConstantLogNormalNoise(0.4, seed=seed), (4, 6), False, {}),
    (lambda seed: layers.NoNoise(seed=seed), (4, 6), False, {"noisy": False}),
    (lambda seed: layers.ZeroEntropyNoise(seed=seed), (4, 6), False, {"masking": False}),
    (lambda seed: layers.GaussianLatent(3, seed=seed), (4, 3), True,
     {"identity_at_inference": False, "masking": False}),
], ids=["information_log_uniform", "information_log_normal", "binary", "gaussian",
        "constant_lognormal", "none", "zero_entropy", "gaussian_latent"])
def test_every_noise_layer_keeps_the_layer_contract(make_layer, output_shape, adds_kl, options,
                                                    layer_contract):
    layer_contract(make_layer, _X, output_shape, adds_kl, **options)


def _model_with_information_dropout():
    inputs = keras.Input((6,))
    features = keras.layers.Dense(6, activation="relu")(inputs)
    outputs = keras.layers.Dense(1)(InformationDropout(seed=5)([features, inputs]))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.01), loss="mse")
    return model


class _StopAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("stopped")


def test_backup_and_restore_resumes_the_noise_where_it_stopped(tmp_path):
    """A `fit` resumed by `keras.callbacks.BackupAndRestore` ends with the
    uninterrupted run's weights, because the layer's seed state is saved
    with its weights (without it, epochs 2-3 would redraw epoch 0-1's noise)."""
    x = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
    y = x[:, :1] * 2.0
    fit = dict(epochs=4, batch_size=8, shuffle=False, verbose=0)
    keras.utils.set_random_seed(1)
    reference = _model_with_information_dropout()
    reference.fit(x, y, **fit)

    keras.utils.set_random_seed(1)
    model = _model_with_information_dropout()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(RuntimeError):
        model.fit(x, y, callbacks=[backup, _StopAfterEpoch(1)], **fit)
    keras.utils.set_random_seed(2)  # the restart's fresh state is overwritten
    resumed = _model_with_information_dropout()
    resumed.fit(x, y, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))],
                **fit)
    for got, expected in zip(resumed.weights, reference.weights):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
