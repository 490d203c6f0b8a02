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


def test_vib_multi_sample_prediction_differs_from_the_mean_latent():
    model = models.build({"name": "vib", "hidden_units": (32,), "latent_dim": 8, "seed": 0})
    x, y = _data()
    results = evaluate_two_modes(model, [(x, y)], num_samples=12)
    assert results["noisy_cross_entropy"] != results["deterministic_cross_entropy"]


@pytest.mark.parametrize("bad", [0, 2.5, True])
def test_bad_sample_counts_are_rejected(bad):
    model = models.build({"name": "mlp", "width": 4})
    with pytest.raises(ValueError, match=r"`num_samples`.*Received: num_samples="):
        evaluate_two_modes(model, [], num_samples=bad)


def test_empty_dataset_is_an_error():
    with pytest.raises(ValueError, match=r"no examples"):
        evaluate_two_modes(models.build({"name": "mlp", "width": 4}), [], num_samples=2)
