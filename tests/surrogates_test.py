"""Kirsch, Lyle & Gal's surrogate IB penalties, as functions of a batch and as
Keras objects (`infodropout_tf.surrogates`)."""

import keras
import numpy as np
import pytest

from infodropout_tf import surrogates

TWO_PI_E = 2 * np.pi * np.e


def _batch():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 60)
    # Class-dependent means and scales: the within-class variances are much
    # smaller than the pooled ones.
    z = (np.array([[-4.0, 0.0], [0.0, 3.0], [5.0, -2.0]])[labels]
         + rng.normal(scale=[0.3, 1.5], size=(60, 2))).astype("float32")
    return z, labels


def _factorised_entropy(z):
    return np.sum(0.5 * np.log(TWO_PI_E * z.var(axis=0) + 1))


def test_each_penalty_is_its_formula():
    z, labels = _batch()
    assert float(surrogates.squared_norm(z)) == pytest.approx(
        np.mean(np.sum(z.astype("float64") ** 2, axis=1)), rel=1e-5)
    assert float(surrogates.log_variance(z)) == pytest.approx(_factorised_entropy(z), rel=1e-5)
    conditional = sum(np.mean(labels == c) * _factorised_entropy(z[labels == c])
                      for c in range(3))
    assert float(surrogates.conditional_log_variance(z, labels, 3)) == pytest.approx(
        conditional, rel=1e-5)
    # Class-dependent means: the residual surrogate is far below the
    # unconditional one (2.3 against 5.0 nats here).
    assert conditional < 0.5 * _factorised_entropy(z)
    for name in ("squared_norm", "log_variance"):
        assert float(surrogates.penalty(name, z)) == float(getattr(surrogates, name)(z))
    assert float(surrogates.penalty("conditional_log_variance", z, labels[:, None], 3)) \
        == pytest.approx(conditional, rel=1e-5)
    assert float(surrogates.penalty("none", z)) == 0.0


def test_a_constant_representation_costs_nothing_but_its_norm():
    z = np.full((8, 3), 2.0, "float32")
    assert float(surrogates.log_variance(z)) == 0.0
    assert float(surrogates.conditional_log_variance(z, np.arange(8) % 2, 2)) == 0.0
    assert float(surrogates.squared_norm(z)) == pytest.approx(12.0)


def test_sample_weights_select_examples_and_an_empty_batch_gives_zero():
    z, labels = _batch()
    weights = (np.arange(60) < 40).astype("float32")
    kept, kept_labels = z[:40], labels[:40]
    assert float(surrogates.squared_norm(z, weights)) == pytest.approx(
        float(surrogates.squared_norm(kept)), rel=1e-6)
    assert float(surrogates.log_variance(z, weights)) == pytest.approx(
        float(surrogates.log_variance(kept)), rel=1e-5)
    assert float(surrogates.conditional_log_variance(z, labels, 3, weights)) == pytest.approx(
        float(surrogates.conditional_log_variance(kept, kept_labels, 3)), rel=1e-5)
    empty = np.zeros((0, 2), "float32")
    for name in surrogates.SURROGATES:
        assert float(surrogates.penalty(name, empty, np.zeros((0,), "int64"), 3)) == 0.0
        assert float(surrogates.penalty(name, z, labels, 3, np.zeros(60, "float32"))) == 0.0


def test_an_unknown_surrogate_lists_the_choices():
    with pytest.raises(ValueError) as raised:
        surrogates.penalty("l2", np.ones((2, 2), "float32"))
    assert str(raised.value) == (
        "Invalid value received for argument `surrogate`. Expected one of ['none', "
        "'squared_norm', 'log_variance', 'conditional_log_variance']. Received: surrogate='l2'")


# The Keras objects ------------------------------------------------------------------

def test_activity_regularisers_add_the_documented_values():
    z_values = np.random.default_rng(7).normal(scale=[0.5, 2.0, 1.0], size=(64, 3)).astype(
        "float32")
    for regularizer, expected in (
        (surrogates.SquaredNorm(0.1), 0.1 * np.mean(np.sum(z_values**2, axis=1))),
        (surrogates.LogVariance(0.1),
         0.1 * np.sum(0.5 * np.log(2 * np.pi * np.e * z_values.var(axis=0) + 1))),
    ):
        layer = keras.layers.Activation("linear", activity_regularizer=regularizer)
        layer(z_values)
        assert float(layer.losses[0]) == pytest.approx(expected, rel=1e-4)
        assert type(regularizer).from_config(regularizer.get_config()).weight == 0.1


def test_conditional_log_variance_is_the_class_weighted_entropy_bound():
    rng = np.random.default_rng(8)
    z = rng.normal(size=(90, 4)).astype("float32")
    y = rng.integers(0, 3, 90)
    layer = surrogates.ConditionalLogVariance(num_classes=3, weight=2.0)
    np.testing.assert_array_equal(layer([z, y]), z)
    expected = sum(np.mean(y == c) * np.sum(0.5 * np.log(TWO_PI_E * z[y == c].var(axis=0) + 1))
                   for c in range(3))
    assert float(layer.losses[0]) == pytest.approx(2.0 * expected, rel=1e-4)


@pytest.mark.parametrize("bad", [-1.0, True])
def test_regularisers_reject_bad_weights(bad):
    with pytest.raises(ValueError, match=r"`weight`.*Received: weight="):
        surrogates.SquaredNorm(bad)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_regularisers_reject_non_finite_weights(bad):
    for regularizer in (surrogates.SquaredNorm, surrogates.LogVariance):
        with pytest.raises(ValueError, match=rf"`weight`\..*Received: weight={bad!r}$"):
            regularizer(bad)


@pytest.mark.parametrize("bad", [0, True, 3.0])
def test_conditional_log_variance_rejects_bad_class_counts(bad):
    with pytest.raises(ValueError, match=rf"`num_classes`\..*Received: num_classes={bad!r}$"):
        surrogates.ConditionalLogVariance(num_classes=bad)
