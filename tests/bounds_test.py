"""Bounds on I(X; Z) and I(Z; Y) from a network (`infodropout_tf.information.bounds`)."""

import math

import keras
import numpy as np
import pytest

from infodropout_tf import information
from infodropout_tf import models


def _lenet(noise, activation="softplus"):
    model = models.build({"name": "lenet", "noise": noise, "activation": activation,
                          "num_train_examples": 1000, "seed": 0})
    model.compile(keras.optimizers.Adam(1e-3))
    return model


def _batches(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, n)
    return [(x[i:i + 32], y[i:i + 32]) for i in range(0, n, 32)]


@pytest.mark.parametrize("activation,relative", [("softplus", False), ("relu", True)])
def test_closed_form_bound_is_the_mean_summed_kl_map(activation, relative):
    model = _lenet("information", activation)
    batches = _batches()
    layer = model.network.get_layer("dropout")
    to_inputs = keras.Model(model.network.inputs, layer.input)
    expected = np.concatenate([
        np.sum(np.asarray(layer(to_inputs(x), return_kl_map=True)[1]), axis=1)
        for x, _ in batches])
    kl = information.information_dropout_kl(model, "dropout", batches)
    np.testing.assert_allclose(kl, expected, rtol=1e-5)
    # The same KL by hand in float64, from the layer's weights and the
    # paper's closed forms (DESIGN.md): alpha = 0.001 + max_alpha *
    # sigmoid(g(block inputs)), and per unit log((max_alpha + 0.001) / alpha)
    # for the log-uniform prior (ReLU), or 1/2 ((alpha / sigma)^2 + (log f -
    # mu)^2 / sigma^2 - 1) + log(sigma) - log(alpha) with log f clamped at
    # log(1e-4) for the log-normal prior (softplus).
    kernel, bias = (np.asarray(w, np.float64) for w in layer.alpha_branch.get_weights())
    by_hand = []
    for x, _ in batches:
        features, block_inputs = (np.asarray(t, np.float64) for t in to_inputs(x))
        alpha = 0.001 + layer.max_alpha / (1 + np.exp(-(block_inputs @ kernel + bias)))
        if activation == "relu":
            unit_kl = np.log(layer.max_alpha + 0.001) - np.log(alpha)
        else:
            mu, sigma = float(layer.prior.mu), float(layer.prior.sigma)
            log_f = np.log(np.maximum(features, 1e-4))
            unit_kl = (0.5 * ((alpha / sigma) ** 2 + (log_f - mu) ** 2 / sigma**2 - 1)
                       + np.log(sigma) - np.log(alpha))
        by_hand.append(unit_kl.sum(axis=1))
    # float32 sums of 84 units against float64: they agree to about 2e-7.
    np.testing.assert_allclose(kl, np.concatenate(by_hand), rtol=1e-5)
    bound = information.information_dropout_bound(model, "dropout", batches)
    assert bound["mutual_information_bound"] == pytest.approx(expected.mean(), rel=1e-5)
    assert bound["relative_to_prior_constant"] is relative


def test_closed_form_bound_needs_an_information_dropout_layer():
    with pytest.raises(ValueError, match=r"'dropout' is a GaussianDropout"):
        information.information_dropout_kl(_lenet("gaussian"), "dropout", _batches())


def test_label_entropy_and_cross_entropies():
    assert information.label_entropy(np.arange(1000) % 10) == pytest.approx(math.log(10))
    assert information.label_entropy(np.zeros(5, int)) == 0.0
    noisy = information.monte_carlo_cross_entropies(_lenet("binary"), _batches(), num_samples=8)
    # Jensen: the cross-entropy of the averaged prediction is never larger.
    assert noisy["prediction_cross_entropy"] < noisy["decoder_cross_entropy"]
    model = _lenet("none")
    plain = information.monte_carlo_cross_entropies(model, _batches(), num_samples=3)
    assert plain["prediction_cross_entropy"] == pytest.approx(plain["decoder_cross_entropy"], rel=1e-5)
    x = np.concatenate([b[0] for b in _batches()])
    y = np.concatenate([b[1] for b in _batches()])
    deterministic = keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True)
    assert plain["decoder_cross_entropy"] == pytest.approx(float(np.mean(deterministic)), rel=1e-5)
    assert information.label_information_bound(model, _batches(), 3) == pytest.approx(
        information.label_entropy(y) - plain["decoder_cross_entropy"], rel=1e-5)


def test_bounds_reject_an_empty_dataset_and_zero_samples():
    model = _lenet("information")
    with pytest.raises(ValueError, match=r"`dataset`\. Expected at least one example\. "
                                         r"Received: an empty dataset"):
        information.information_dropout_kl(model, "dropout", [])
    with pytest.raises(ValueError, match=r"`dataset`.*an empty dataset"):
        information.information_dropout_bound(model, "dropout", [])
    with pytest.raises(ValueError, match=r"`dataset`.*an empty dataset"):
        information.monte_carlo_cross_entropies(model, [], num_samples=2)
    with pytest.raises(ValueError, match=r"`num_samples`.*Received: num_samples=0$"):
        information.label_information_bound(model, _batches(), num_samples=0)


@pytest.mark.parametrize(
    "estimate,name,received",
    [
        (lambda: information.label_entropy([]), "labels", r"shape \(0,\)"),
        (lambda: information.label_entropy([0, 1], num_classes=0),
         "num_classes", "num_classes=0"),
    ],
)
def test_estimators_name_the_bad_argument(estimate, name, received):
    with pytest.raises(ValueError, match=rf"^Invalid value received for argument `{name}`\. "
                                         rf"Expected .*{received}"):
        estimate()
