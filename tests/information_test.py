"""Information estimators on distributions whose answers are known."""

import math

import keras
import numpy as np
import pytest
from scipy import integrate

from infodropout_tf import information
from infodropout_tf import layers
from infodropout_tf import models


def _correlated_gaussians(rho, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)


# Gaussian quantities and MINE --------------------------------------------------

@pytest.mark.parametrize("rho", [0.3, 0.8])
def test_gaussian_mutual_information_matches_the_closed_form(rho):
    x, z = _correlated_gaussians(rho, 50_000)
    # The estimate's sampling error is about rho * sqrt(2 / n) ~ 0.005.
    assert abs(information.gaussian_mutual_information(x, z) + 0.5 * math.log(1 - rho**2)) < 0.02


def test_mine_approaches_the_true_information_of_correlated_gaussians():
    rho = 0.8
    x, z = _correlated_gaussians(rho, 5000, seed=1)
    truth = -0.5 * math.log(1 - rho**2)  # 0.511 nats
    estimate = information.mine_lower_bound(x, z, steps=1500, seed=0)
    # A lower bound trained on 5,000 samples: within 0.1 nats of the truth
    # and far from the 0 of independent variables.
    assert abs(estimate - truth) < 0.1
    independent = information.mine_lower_bound(x, np.random.default_rng(2).standard_normal(5000),
                                               steps=500, seed=0)
    assert abs(independent) < 0.05


def test_total_correlation_of_independent_and_equicorrelated_gaussians():
    rng = np.random.default_rng(3)
    assert abs(information.total_correlation(rng.standard_normal((50_000, 5)))) < 2e-3
    c, d = 0.5, 5
    covariance = (1 - c) * np.eye(d) + c
    samples = rng.multivariate_normal(np.zeros(d), covariance, size=200_000)
    # det = (1 - c)^(d - 1) (1 + (d - 1) c) for the equicorrelated matrix.
    analytic = -0.5 * ((d - 1) * math.log(1 - c) + math.log(1 + (d - 1) * c))
    assert abs(information.total_correlation(samples, per_dimension=False) - analytic) < 0.01
    np.testing.assert_allclose(information.total_correlation(samples),
                               information.total_correlation(samples, per_dimension=False) / d)


def test_gaussian_entropy_bound_of_a_gaussian_is_its_entropy():
    samples = np.random.default_rng(4).normal(scale=2.0, size=(100_000, 1))
    assert abs(information.gaussian_entropy_bound(samples)
               - 0.5 * math.log(2 * math.pi * math.e * 4.0)) < 0.01


# Gaussian dropout (Adilova et al.) ---------------------------------------------

def _expected_log_abs_affine():
    """E log|2X + 0.5| for X ~ N(0, 1), by quadrature (singular at -0.25)."""
    density = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    integrand = lambda x: math.log(abs(2 * x + 0.5)) * density(x)  # noqa: E731
    return sum(integrate.quad(integrand, a, b, limit=200)[0]
               for a, b in ((-np.inf, -0.25), (-0.25, np.inf)))


@pytest.mark.parametrize("n", [1, 10])
def test_adilova_toy_problem(n):
    sigma, points = 0.5, 4000
    rng = np.random.default_rng(n)
    f = 2 * rng.standard_normal((points, n)) + 0.5

    estimates = [information.gaussian_dropout_information(f, sigma, num_samples=s, seed=5)
                 for s in (1000, 4000, 16_000)]

    # h(Z|X) = n (1/2 log(2 pi e sigma^2) + E log|2X + 0.5|), exactly.
    exact = n * (0.5 * math.log(2 * math.pi * math.e * sigma**2) + _expected_log_abs_affine())
    per_point = np.sum(np.log(np.abs(f)), axis=1)
    tolerance = 4 * per_point.std() / math.sqrt(points)  # the data are a sample of X
    for estimate in estimates:
        assert abs(estimate["conditional_entropy"] - exact) < tolerance
        assert estimate["entropy"] < estimate["entropy_upper_bound"]
        # X uniform over the data: I <= log(points), up to Monte-Carlo error.
        assert 0 < estimate["mutual_information"] <= math.log(points)
    # Converges as samples grow: errors shrink and estimates agree within them.
    errors = [e["entropy_standard_error"] for e in estimates]
    assert errors[0] > errors[1] > errors[2]
    for a, b in zip(estimates, estimates[1:]):
        assert abs(a["entropy"] - b["entropy"]) < 4 * math.hypot(
            a["entropy_standard_error"], b["entropy_standard_error"])


def test_gaussian_dropout_estimate_stays_below_log_n_for_relu_like_features():
    # Half the units inactive (f = 0, noise scale at the 1e-6 floor): the
    # per-point conditional entropies span hundreds of nats, and every point
    # is told apart from the others by its pattern of inactive units, so
    # I(X; Z) = log n. Seeds must agree on it to Monte-Carlo precision.
    rng = np.random.default_rng(3)
    n = 500
    f = np.abs(rng.standard_normal((n, 64))) * (rng.uniform(size=(n, 64)) < 0.5)
    estimates = [information.gaussian_dropout_information(f, 0.5, num_samples=2000, seed=s)
                 for s in range(4)]
    for estimate in estimates:
        assert 0 <= estimate["mutual_information"] <= math.log(n) + 1e-9
        assert estimate["mutual_information"] == pytest.approx(
            math.log(n), abs=4 * estimate["mutual_information_standard_error"] + 1e-6)


def test_gaussian_dropout_estimator_rejects_non_positive_sigma():
    with pytest.raises(ValueError, match=r"`sigma`.*Received: sigma=0"):
        information.gaussian_dropout_information(np.ones((4, 2)), 0)


# Binning -----------------------------------------------------------------------

def test_binning_reaches_log_n_for_tiny_bins_and_zero_for_one_bin():
    rng = np.random.default_rng(6)
    t, labels = rng.standard_normal((1000, 3)), rng.integers(0, 10, 1000)
    tiny = information.binning_information(t, labels, bin_size=1e-6)
    assert tiny["mutual_information_x"] == pytest.approx(math.log(1000))
    # Every input in its own pattern: T determines Y, I(T;Y) = H(Y).
    assert tiny["mutual_information_y"] == pytest.approx(information.label_entropy(labels))
    one = information.binning_information(t, labels, num_bins=1)
    assert one == {"mutual_information_x": 0.0, "mutual_information_y": 0.0}
    coarse = information.binning_information(t, num_bins=4)["mutual_information_x"]
    assert 0 < coarse < math.log(1000)


def test_binning_rejects_bad_bins():
    with pytest.raises(ValueError, match=r"`num_bins`.*Received: num_bins=0"):
        information.binning_information(np.ones((3, 2)), num_bins=0)
    with pytest.raises(ValueError, match=r"`bin_size`.*Received: bin_size=-1"):
        information.binning_information(np.ones((3, 2)), bin_size=-1)


# Bounds from networks ------------------------------------------------------------

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


# Surrogate regularisers (Kirsch et al.) --------------------------------------------

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


def test_zero_entropy_noise_has_variance_one_over_two_pi_e():
    layer = information.ZeroEntropyNoise(seed=0)
    zeros = np.zeros((200, 100), "float32")
    noise = np.asarray(layer(zeros, training=True)).ravel()
    variance = 1 / (2 * math.pi * math.e)
    # Four standard errors of the variance (sqrt(2 / n) relative).
    assert abs(noise.var() - variance) < 4 * variance * math.sqrt(2 / noise.size)
    # Its entropy, 1/2 log(2 pi e variance), is zero.
    assert 0.5 * math.log(2 * math.pi * math.e * variance) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(layer(zeros), zeros)
    assert isinstance(layer, layers.NoiseLayer)


@pytest.mark.parametrize("bad", [-1.0, True])
def test_regularisers_reject_bad_weights(bad):
    with pytest.raises(ValueError, match=r"`weight`.*Received: weight="):
        information.SquaredNorm(bad)


def test_kl_mass_inside_boxes_weighs_cells_by_their_overlap_with_the_box():
    # A 4x4 map of a 96x96 image: cell (1, 2) covers rows [24, 48), columns [48, 72).
    kl = np.zeros((3, 4, 4))
    kl[:, 1, 2] = 5.0
    boxes = np.array([[24, 48, 48, 72],   # exactly the cell
                      [30, 48, 42, 60],   # rows 12/24 of it, columns 12/24
                      [0, 0, 24, 96]])    # the row of cells above it
    np.testing.assert_allclose(information.kl_mass_inside_boxes(kl, boxes, 96), [1.0, 0.25, 0.0])


def test_kl_mass_inside_boxes_of_an_even_map_is_the_box_area_share():
    rng = np.random.default_rng(0)
    tops, lefts = rng.integers(0, 60, size=(2, 5))
    boxes = np.stack([tops, lefts, tops + rng.integers(1, 36, 5), lefts + rng.integers(1, 36, 5)], 1)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / 96**2
    even = np.ones((5, 12, 12, 3))  # channels are summed first
    np.testing.assert_allclose(information.kl_mass_inside_boxes(even, boxes, 96), area, rtol=1e-12)


def test_kl_mass_inside_boxes_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"non-negative"):
        information.kl_mass_inside_boxes(-np.ones((1, 2, 2)), [[0, 0, 1, 1]], 2)
    with pytest.raises(ValueError, match=r"boxes of shape \(batch, 4\)"):
        information.kl_mass_inside_boxes(np.ones((2, 2, 2)), [[0, 0, 1, 1]], 2)


# Edge cases: empty, mismatched, non-finite and degenerate inputs --------------------

_EMPTY, _NAN = np.ones((0, 5)), np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]])
_PAIR = np.random.default_rng(9).normal(size=(20, 2))


@pytest.mark.parametrize(
    "estimate,name,received",
    [
        (lambda: information.gaussian_dropout_information(_EMPTY, 0.5),
         "representations", r"shape \(0, 5\)"),
        (lambda: information.gaussian_dropout_information(_NAN, 0.5),
         "representations", r"shape \(3, 2\) with 1 non-finite values"),
        (lambda: information.gaussian_dropout_information(_PAIR, float("inf")),
         "sigma", "sigma=inf"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, num_samples=0),
         "num_samples", "num_samples=0"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, num_components=0),
         "num_components", "num_components=0"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, min_scale=0.0),
         "min_scale", "min_scale=0.0"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, block_size=True),
         "block_size", "block_size=True"),
        (lambda: information.gaussian_dropout_information(_PAIR, 0.5, seed=-1),
         "seed", "seed=-1"),
        (lambda: information.binning_information(_EMPTY), "representations", r"shape \(0, 5\)"),
        (lambda: information.binning_information(_NAN), "representations", "non-finite"),
        (lambda: information.binning_information(_PAIR, np.zeros(19, int)),
         "labels", r"20 rows, as many as `representations`\. Received: shape \(19,\)"),
        (lambda: information.binning_information(_PAIR, num_bins=True),
         "num_bins", "num_bins=True"),
        (lambda: information.binning_information(_PAIR, bin_size=float("nan")),
         "bin_size", "bin_size=nan"),
        (lambda: information.mine_lower_bound(_EMPTY, _EMPTY), "x", r"shape \(0, 5\)"),
        (lambda: information.mine_lower_bound(_PAIR, _PAIR[:10]),
         "z", r"20 rows, as many as `x`\. Received: shape \(10, 2\)"),
        (lambda: information.mine_lower_bound(_PAIR, _PAIR, batch_size=0),
         "batch_size", "batch_size=0"),
        (lambda: information.mine_lower_bound(_PAIR, _PAIR, steps=0), "steps", "steps=0"),
        (lambda: information.mine_lower_bound(_PAIR, _PAIR, moving_average_rate=0.0),
         "moving_average_rate", "moving_average_rate=0.0"),
        (lambda: information.mine_lower_bound(_PAIR, _NAN), "z", "non-finite"),
        (lambda: information.total_correlation(_EMPTY), "samples", r"shape \(0, 5\)"),
        (lambda: information.total_correlation(_PAIR[:1]), "samples", r"shape \(1, 2\)"),
        (lambda: information.total_correlation(_NAN), "samples", "non-finite"),
        (lambda: information.gaussian_mutual_information(_PAIR, _PAIR[:5]),
         "z", r"20 rows, as many as `x`"),
        (lambda: information.gaussian_mutual_information(_NAN, _NAN), "x", "non-finite"),
        (lambda: information.gaussian_entropy_bound(_EMPTY), "samples", r"shape \(0, 5\)"),
        (lambda: information.gaussian_entropy_bound(np.ones((10, 2))),
         "samples", r"shape \(10, 2\) with a covariance of rank 0"),
        (lambda: information.label_entropy([]), "labels", r"shape \(0,\)"),
        (lambda: information.label_entropy([0, 1], num_classes=0),
         "num_classes", "num_classes=0"),
    ],
)
def test_estimators_name_the_bad_argument(estimate, name, received):
    with pytest.raises(ValueError, match=rf"^Invalid value received for argument `{name}`\. "
                                         rf"Expected .*{received}"):
        estimate()


def test_a_constant_column_adds_exactly_nothing_to_total_correlation():
    # A constant (e.g. a dead unit) is independent of everything: TC is that
    # of the varying columns, and per dimension it counts in the layer width.
    rng = np.random.default_rng(10)
    varying = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=500)
    with_constant = np.concatenate([varying, np.full((500, 1), 0.3)], axis=1)
    total = information.total_correlation(varying, per_dimension=False)
    assert total > 0.15  # about -1/2 log(1 - 0.36) = 0.22: a value that could be lost
    assert information.total_correlation(with_constant, per_dimension=False) == total
    assert information.total_correlation(with_constant) == total / 3
    assert information.total_correlation(np.full((10, 4), 2.0)) == 0.0


def test_a_constant_variable_carries_no_gaussian_mutual_information():
    x, z = _correlated_gaussians(0.8, 2000, seed=11)
    constant = np.full(2000, 5.0)
    assert information.gaussian_mutual_information(constant, z) == 0.0
    assert information.gaussian_mutual_information(x, constant) == 0.0
    with_constant = np.stack([x, constant], axis=1)
    expected = information.gaussian_mutual_information(x, z)
    assert expected > 0.4
    assert information.gaussian_mutual_information(with_constant, z) == expected


def test_gaussian_dropout_estimate_is_finite_with_a_constant_unit():
    # The noise-scale floor keeps both entropies and the bound finite when a
    # unit is 0 on every input (a dead ReLU).
    f = np.abs(np.random.default_rng(12).normal(size=(200, 3)))
    f[:, 1] = 0.0
    estimate = information.gaussian_dropout_information(f, 0.5, num_samples=500)
    assert all(np.isfinite(value) for value in estimate.values())
    assert 0 <= estimate["mutual_information"] <= math.log(200) + 1e-9


def test_binning_labels_must_match_and_be_finite():
    t = np.random.default_rng(13).normal(size=(6, 2))
    with pytest.raises(ValueError, match=r"`labels`.*1 non-finite values"):
        information.binning_information(t, np.array([0, 1, 0, 1, np.nan, 1]))


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


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_zero_entropy_noise_rejects_integer_inputs(dtype):
    with pytest.raises(ValueError, match=rf"ZeroEntropyNoise layer 'noise' expects "
                                         rf"floating-point inputs\. .*dtype {dtype}"):
        information.ZeroEntropyNoise(seed=0, name="noise")(np.ones((2, 3), dtype), training=True)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_regularisers_reject_non_finite_weights(bad):
    for regularizer in (information.SquaredNorm, information.LogVariance):
        with pytest.raises(ValueError, match=rf"`weight`\..*Received: weight={bad!r}$"):
            regularizer(bad)


@pytest.mark.parametrize("bad", [0, True, 3.0])
def test_conditional_log_variance_rejects_bad_class_counts(bad):
    with pytest.raises(ValueError, match=rf"`num_classes`\..*Received: num_classes={bad!r}$"):
        information.ConditionalLogVariance(num_classes=bad)
