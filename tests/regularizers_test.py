"""Surrogate information-bottleneck regularisers (Kirsch et al.;
`infodropout_tf.information.regularizers`)."""

import keras
import numpy as np
import pytest

from infodropout_tf import information


def test_activity_regularisers_add_the_documented_values():
    z_values = np.random.default_rng(7).normal(scale=[0.5, 2.0, 1.0], size=(64, 3)).astype("float32")
    for regularizer, expected in (
        (information.SquaredNorm(0.1), 0.1 * np.mean(np.sum(z_values**2, axis=1))),
        (information.LogVariance(0.1),
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
    layer = information.ConditionalLogVariance(num_classes=3, weight=2.0)
    np.testing.assert_array_equal(layer([z, y]), z)
    expected = sum(np.mean(y == c) * np.sum(0.5 * np.log(2 * np.pi * np.e * z[y == c].var(axis=0) + 1))
                   for c in range(3))
    assert float(layer.losses[0]) == pytest.approx(2.0 * expected, rel=1e-4)


@pytest.mark.parametrize("bad", [-1.0, True])
def test_regularisers_reject_bad_weights(bad):
    with pytest.raises(ValueError, match=r"`weight`.*Received: weight="):
        information.SquaredNorm(bad)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_regularisers_reject_non_finite_weights(bad):
    for regularizer in (information.SquaredNorm, information.LogVariance):
        with pytest.raises(ValueError, match=rf"`weight`\..*Received: weight={bad!r}$"):
            regularizer(bad)


@pytest.mark.parametrize("bad", [0, True, 3.0])
def test_conditional_log_variance_rejects_bad_class_counts(bad):
    with pytest.raises(ValueError, match=rf"`num_classes`\..*Received: num_classes={bad!r}$"):
        information.ConditionalLogVariance(num_classes=bad)
