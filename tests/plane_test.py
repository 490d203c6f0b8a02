"""One point of the information plane per layer, by the estimator chosen for
it (`infodropout_tf.information.plane`)."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import information
from infodropout_tf import layers
from infodropout_tf.information import plane


@pytest.mark.parametrize(
    "kwargs,name,received",
    [
        ({"layer_names": "dropout"}, "layer_names", "layer_names='dropout'"),
        ({"num_samples": 0}, "num_samples", "num_samples=0"),
        ({"num_bins": True}, "num_bins", "num_bins=True"),
        ({"gaussian_components": 0}, "gaussian_components", "gaussian_components=0"),
        ({"gaussian_samples": 0}, "gaussian_samples", "gaussian_samples=0"),
        ({"seed": -1}, "seed", "seed=-1"),
        ({"mine_steps": 0}, "mine_steps", "mine_steps=0"),
        ({"mine_batch_size": 1.5}, "mine_batch_size", "mine_batch_size=1.5"),
        ({"mine_hidden_units": ()}, "mine_hidden_units", r"mine_hidden_units=\(\)"),
        ({"mine_learning_rate": -1e-3}, "mine_learning_rate", "mine_learning_rate=-0.001"),
        ({"estimators": ["dropout:mine"]}, "estimators", r"estimators=\['dropout:mine'\]"),
        ({"estimators": {"dropout": "mine_"}}, "estimators", r"estimators=\{'dropout': 'mine_'\}"),
    ],
)
def test_estimate_rejects_bad_arguments_before_touching_the_model(kwargs, name, received):
    # model=None: the checks come before any estimate is computed.
    arguments = {"model": None, "layer_names": ["dropout"], "dataset": [], **kwargs}
    with pytest.raises(ValueError, match=rf"`{name}`\..*Received: {received}$"):
        information.estimate_information_plane(**arguments)


# Estimators chosen by name -------------------------------------------------------

def _dense_and_binary_dropout(seed=0):
    """20 inputs -> Dense(16, relu) "dense" -> BinaryDropout "dropout" -> 3 logits."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((20,))
    features = keras.layers.Dense(16, activation="relu", name="dense")(inputs)
    noisy = layers.BinaryDropout(0.3, seed=1, name="dropout")(features)
    return keras.Model(inputs, keras.layers.Dense(3, name="logits")(noisy))


def _data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20)).astype("float32")
    return x, tf.data.Dataset.from_tensor_slices((x, rng.integers(0, 3, n))).batch(64)


_MINE = {"mine_steps": 50, "mine_batch_size": 64, "num_samples": 2}


def test_a_dense_and_a_binary_dropout_layer_get_the_estimators_asked_for():
    model = _dense_and_binary_dropout()
    x, data = _data()
    rows = information.estimate_information_plane(
        model, ["dense", "dropout", "logits"], data,
        estimators={"dense": "mine", "dropout": "mine"}, **_MINE)
    # The chosen estimator, binning beside it; the logits by type: binning.
    assert [(r["layer"], r["estimator"]) for r in rows] == [
        ("dense", "mine"), ("dense", "binning"), ("dropout", "mine"), ("dropout", "binning"),
        ("logits", "binning")]
    for row in rows:
        assert set(row) >= set(plane.FIELDS) - {"epoch", "split"}
        assert np.isfinite(row["mutual_information_x"]) and not row["relative_to_prior_constant"]
        if row["estimator"] == "binning":
            assert 0 <= row["mutual_information_x"] <= np.log(128) + 1e-9
    # The Dense layer is deterministic: its MINE row is the bound between
    # the inputs and the layer's outputs, computed by Keras here.
    dense_outputs = keras.Model(model.inputs[0], model.get_layer("dense").output)(x)
    assert rows[0]["mutual_information_x"] == information.mine_lower_bound(
        x, dense_outputs, steps=50, batch_size=64, seed=0)
    # The dropout layer's Z carries noise drawn from streams fixed by the
    # seed: the same seed gives the same MINE value, another seed other draws
    # and another network.
    stream = model.get_layer("dropout").seed_generator.state
    again = information.estimate_information_plane(
        model, ["dropout"], data, estimators={"dropout": "mine"}, **_MINE)
    assert again[0]["mutual_information_x"] == rows[2]["mutual_information_x"]
    other_seed = information.estimate_information_plane(
        model, ["dropout"], data, estimators={"dropout": "mine"}, seed=1, **_MINE)
    assert other_seed[0]["mutual_information_x"] != rows[2]["mutual_information_x"]
    # MINE's draws leave the layer's own stream where it was: only the
    # I(Z; Y) bound's draws (2 samples of 2 batches each) advance it, as
    # with binning alone.
    before = stream.numpy()
    information.estimate_information_plane(model, ["dropout"], data,
                                           estimators={"dropout": "mine"}, **_MINE)
    with_mine = stream.numpy()
    information.estimate_information_plane(model, ["dropout"], data, **_MINE)
    np.testing.assert_array_equal(with_mine - before, stream.numpy() - with_mine)
    assert with_mine[1] - before[1] == 4


def test_mine_sees_the_noise_of_the_layer():
    # z = x * exp(0.5 n) on log-normal x = exp(0.5 m), m, n ~ N(0, 1) in 2
    # independent dimensions: log z = log x + 0.5 n, so
    # I(X; Z) = 2 * 1/2 log(1 + 0.5^2 / 0.5^2) = log 2 = 0.693 nats.
    inputs = keras.Input((2,))
    noisy = layers.ConstantLogNormalNoise(alpha=0.5, seed=3, name="noise")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(noisy))
    rng = np.random.default_rng(0)
    x = np.exp(0.5 * rng.standard_normal((2000, 2))).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, rng.integers(0, 2, 2000))).batch(500)
    (row, _) = information.estimate_information_plane(
        model, ["noise"], data, estimators={"noise": "mine"}, num_samples=1, mine_steps=500,
        mine_learning_rate=5e-3)
    # A lower bound after 500 steps: within 0.2 nats below the truth (0.63
    # and 0.60 with seeds 0 and 1) and far below the ~3 nats MINE reaches on
    # the noise-free Z = X.
    assert np.log(2) - 0.2 < row["mutual_information_x"] < np.log(2) + 0.05


class _NoData:
    def __iter__(self):
        raise AssertionError("an estimate was started")


@pytest.mark.parametrize("estimators,expected", [
    ({"dense": "mne"}, "Expected for layer 'dense' one of ['closed_form_kl', 'gaussian_mixture', "
                       "'binning', 'mine'], not 'mne'. Received: estimators={'dense': 'mne'}"),
    ({"dense": "closed_form_kl"},
     "Expected for layer 'dense', a Dense, one of ['binning', 'mine'] ('closed_form_kl' holds only "
     "for InformationDropout layers). Received: estimators={'dense': 'closed_form_kl'}"),
    ({"dropout": "gaussian_mixture"},
     "Expected for layer 'dropout', a BinaryDropout, one of ['binning', 'mine'] "
     "('gaussian_mixture' holds only for GaussianDropout or ZeroEntropyNoise layers). "
     "Received: estimators={'dropout': 'gaussian_mixture'}"),
    ({"logits": "mine"}, "Expected only layers of layer_names ['dense', 'dropout']; add 'logits' "
                         "to layer_names. Received: estimators={'logits': 'mine'}"),
])
def test_a_bad_estimator_is_one_line_naming_layer_and_choices(estimators, expected):
    model = _dense_and_binary_dropout()
    with pytest.raises(ValueError) as raised:
        information.estimate_information_plane(model, ["dense", "dropout"], _NoData(),
                                               estimators=estimators)
    assert str(raised.value) == f"Invalid value received for argument `estimators`. {expected}"


def _dense_and_zero_entropy_noise():
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(2, name="dense")
    z = layers.ZeroEntropyNoise(seed=0, name="noise")(dense(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, name="logits")(z))
    dense.set_weights([np.eye(2, dtype="float32"), np.zeros(2, "float32")])  # Z = X
    return model


@pytest.mark.parametrize("points, preserved, residual", [
    # Four points 400 noise deviations apart, two per class: Z' tells all
    # four apart (log 4) and, within a class, the two (log 2).
    ([[0, 0], [100, 0], [0, 100], [100, 100]], np.log(4), np.log(2)),
    # Each class one point, twice: log 2 preserved, nothing residual.
    ([[0, 0], [0, 0], [100, 100], [100, 100]], np.log(2), 0.0),
])
def test_zero_entropy_noise_gets_the_mixture_estimate_and_its_residual(points, preserved,
                                                                       residual):
    model = _dense_and_zero_entropy_noise()
    assert plane.default_estimator(model.get_layer("noise")) == "gaussian_mixture"
    data = tf.data.Dataset.from_tensor_slices(
        (np.asarray(points, "float32"), np.array([0, 0, 1, 1]))).batch(4)
    rows = information.estimate_information_plane(model, ["noise"], data, num_samples=2,
                                                  gaussian_samples=500)
    assert [(r["estimator"], "residual_information" in r) for r in rows] == [
        ("gaussian_mixture", True), ("binning", False)]
    # I(X; Z') = H(Z') and H(Z'|Y) of the mixture with variance 1/(2 pi e).
    assert rows[0]["mutual_information_x"] == pytest.approx(preserved, abs=1e-9)
    assert rows[0]["residual_information"] == pytest.approx(residual, abs=1e-9)


def test_the_mixture_has_one_component_per_example_by_default():
    # 1,500 points on a grid 100 apart, 400 noise deviations: Z' tells every
    # one apart, so the estimate is log 1500, above the log 1000 a mixture
    # of 1,000 components would cap it at.
    grid = np.stack(np.meshgrid(np.arange(50), np.arange(30)), -1).reshape(-1, 2)
    points = 100.0 * grid.astype("float32")
    data = tf.data.Dataset.from_tensor_slices((points, np.arange(1500) % 2)).batch(500)
    rows = information.estimate_information_plane(_dense_and_zero_entropy_noise(), ["noise"],
                                                  data, num_samples=1, gaussian_samples=2000)
    assert rows[0]["mutual_information_x"] == pytest.approx(np.log(1500), abs=1e-6)
    capped = information.estimate_information_plane(
        _dense_and_zero_entropy_noise(), ["noise"], data, num_samples=1, gaussian_samples=2000,
        gaussian_components=1000)
    assert capped[0]["mutual_information_x"] == pytest.approx(np.log(1000), abs=1e-6)


def test_rows_written_are_read_back_and_the_csv_holds_the_fields(tmp_path):
    rows = [{"epoch": 3, "split": "test", "layer": "noise", "estimator": "gaussian_mixture",
             "mutual_information_x": 1.5, "mutual_information_y": 0.25,
             "relative_to_prior_constant": False, "residual_information": 0.75}]
    plane.write_rows(str(tmp_path), rows)
    # The JSON keeps every field, residual_information too.
    assert plane.read_rows(str(tmp_path / "information_plane.json"), "Fix it.") == rows
    with open(tmp_path / "information_plane.csv") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == plane.FIELDS
        assert [(r["epoch"], r["mutual_information_x"]) for r in reader] == [("3", "1.5")]
    # What read_rows checks is every column the CSV and the plots read.
    assert tuple(plane._ROW_FIELDS) == plane.FIELDS
