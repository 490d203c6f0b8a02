"""Deterministic and noisy (Monte-Carlo) evaluation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf.evaluation import evaluate_two_modes
from infodropout_tf.evaluation import monte_carlo_probabilities


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _data(n=48):
    rng = np.random.default_rng(0)
    return rng.uniform(size=(n, 28, 28, 1)).astype("float32"), rng.integers(0, 10, size=n)


def test_deterministic_mode_is_the_plain_prediction():
    model = models.build({"name": "mlp", "width": 16, "seed": 0})
    x, y = _data()
    results = evaluate_two_modes(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(20), 3)
    probabilities = _softmax(model.predict(x, verbose=0))
    assert results["num_examples"] == 48
    np.testing.assert_allclose(results["deterministic_error"],
                               np.mean(probabilities.argmax(axis=1) != y))
    np.testing.assert_allclose(results["deterministic_cross_entropy"],
                               -np.mean(np.log(probabilities[np.arange(48), y])), rtol=1e-5)


def test_noisy_mode_averages_samples_and_restores_the_switch():
    model = models.build({"name": "mlp", "width": 16, "noise": "binary", "seed": 0})
    x, _ = _data(8)
    one = monte_carlo_probabilities(model, x, num_samples=1).numpy()
    many = monte_carlo_probabilities(model, x, num_samples=200).numpy()
    deterministic = _softmax(model.predict(x, verbose=0))
    np.testing.assert_allclose(many.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(one, deterministic, atol=1e-3)
    # Averaging many dropout samples moves toward the mean prediction: the
    # 200-sample average is closer to it than a single sample.
    assert np.abs(many - deterministic).mean() < np.abs(one - deterministic).mean()
    assert not any(l.stochastic_inference for l in model._flatten_layers()
                   if isinstance(l, layers.NoiseLayer))
    np.testing.assert_array_equal(_softmax(model.predict(x, verbose=0)), deterministic)


def test_both_modes_agree_without_noise():
    model = models.build({"name": "mlp", "width": 16, "noise": "none"})
    x, y = _data()
    results = evaluate_two_modes(model, [(x, y)], num_samples=4)
    assert results["noisy_error"] == results["deterministic_error"]
    np.testing.assert_allclose(results["noisy_cross_entropy"],
                               results["deterministic_cross_entropy"], rtol=1e-6)


def test_vib_multi_sample_prediction_averages_probabilities_over_latent_samples():
    keras.utils.set_random_seed(0)
    model = models.build({"name": "vib", "hidden_units": (32,), "latent_dim": 8, "seed": 0})
    x, y = _data()
    # A decoder five times sharper than at initialisation, so that the latent
    # noise changes the predictions a lot.
    decoder = model.network.get_layer("logits")
    kernel, bias = decoder.get_weights()
    decoder.set_weights([5 * kernel, bias])
    results = evaluate_two_modes(model, [(x, y)], num_samples=12)

    # By hand in float64: the deterministic mode decodes the posterior mean,
    # the noisy mode averages the class probabilities of 12 latent samples.
    latent = model.network.get_layer("latent")
    posterior = latent.posterior(keras.Model(model.network.inputs, latent.input)(x))
    mean, scale = (np.asarray(t, np.float64) for t in (posterior.loc, posterior.scale))
    kernel, bias = (np.asarray(w, np.float64) for w in decoder.get_weights())
    rows = np.arange(len(y))
    deterministic = -np.mean(np.log(_softmax(mean @ kernel + bias)[rows, y]))
    assert results["deterministic_cross_entropy"] == pytest.approx(deterministic, rel=1e-5)
    # The 12-sample estimate is random: 1,000 replicates of it give its mean
    # and spread (4.30 and 0.21 nats), and the model's draw must be within
    # four spreads. The noisy mode evaluated without noise (5.93), averaging
    # logits (6.37) or averaging per-sample cross-entropies (9.41) is not.
    noise = np.random.default_rng(1).standard_normal((1000, 12) + mean.shape)
    logits = (mean + scale * noise) @ kernel + bias
    probabilities = _softmax(logits.reshape(-1, logits.shape[-1])).reshape(logits.shape)
    replicates = -np.mean(np.log(probabilities.mean(axis=1)[:, rows, y]), axis=1)
    assert deterministic - replicates.mean() > 4 * replicates.std()
    assert abs(results["noisy_cross_entropy"] - replicates.mean()) < 4 * replicates.std()


@pytest.mark.parametrize("bad", [0, 2.5, True])
def test_bad_sample_counts_are_rejected(bad):
    model = models.build({"name": "mlp", "width": 4})
    with pytest.raises(ValueError, match=r"`num_samples`.*Received: num_samples="):
        evaluate_two_modes(model, [], num_samples=bad)


def test_empty_dataset_is_an_error():
    with pytest.raises(ValueError, match=r"no examples"):
        evaluate_two_modes(models.build({"name": "mlp", "width": 4}), [], num_samples=2)
