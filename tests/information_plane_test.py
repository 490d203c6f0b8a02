"""The information-plane callback in short training runs on real MNIST."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import information
from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf.information.plane import plot_information_plane


def test_plot_lays_out_one_row_per_layer_with_its_ceiling(tmp_path):
    rows = [{"layer": layer, "estimator": estimator, "split": split, "epoch": epoch,
             "mutual_information_x": 1.0 + epoch, "mutual_information_y": 0.5,
             "relative_to_prior_constant": estimator == "closed_form_kl"}
            for layer, estimator in (("dense", "binning"), ("dense", "gaussian_mixture"),
                                     ("dropout", "closed_form_kl"))
            for split in ("train", "test") for epoch in (0, 1, 2)]
    path = tmp_path / "plane.png"
    figure = plot_information_plane(rows, str(path), ceilings={"dense": 4.6})
    assert path.read_bytes().startswith(b"\x89PNG")
    panels = [axis for axis in figure.axes if axis.get_label() != "<colorbar>"]
    assert [(axis.get_title(), axis.get_visible()) for axis in panels] == [
        ("dense: binning", True), ("dense: gaussian mixture", True),
        ("dropout: closed form kl", True), ("", False)]
    # The log n line in the first layer's panels only (a vertical line's
    # x-data is [x, x]), beside the train and test trajectories.
    ceilings = [[line.get_xdata()[0] for line in axis.lines if line.get_linestyle() == "--"]
                for axis in panels[:3]]
    assert ceilings == [[4.6], [4.6], []]
    assert "+ const" in panels[2].get_xlabel() and "+ const" not in panels[0].get_xlabel()


@pytest.mark.parametrize("noise,estimator", [("information", "closed_form_kl"),
                                             ("gaussian", "gaussian_mixture")])
def test_callback_writes_trajectory_tensorboard_and_plot(tmp_path, mnist_train, mnist_test, noise,
                                                         estimator):
    x, y = mnist_train
    test_x, test_y = mnist_test
    keras.utils.set_random_seed(0)
    model = models.build({"name": "lenet", "noise": noise, "num_train_examples": 512,
                          "dropout_rate": 0.2, "seed": 0})
    model.compile(keras.optimizers.Adam(2e-3))
    subset = lambda a, b: tf.data.Dataset.from_tensor_slices((a, b)).batch(128)  # noqa: E731
    callback = information.InformationPlane(
        str(tmp_path), ["dropout"], subset(x[:256], y[:256]), subset(test_x, test_y),
        every=1, num_samples=4)
    model.fit(x, y, batch_size=64, epochs=2, verbose=0, callbacks=[callback])

    rows = json.loads((tmp_path / "information_plane.json").read_text())
    # Epochs 0 (before training), 1 and 2; train and test; the layer's own
    # estimator and the binning comparison.
    assert len(rows) == 3 * 2 * 2
    assert {(r["epoch"], r["split"], r["estimator"]) for r in rows} == {
        (e, s, m) for e in (0, 1, 2) for s in ("train", "test") for m in (estimator, "binning")}
    for row in rows:
        assert np.isfinite(row["mutual_information_x"]) and np.isfinite(row["mutual_information_y"])
        assert row["relative_to_prior_constant"] == (row["estimator"] == "closed_form_kl")
        if row["estimator"] == "binning":
            assert 0 < row["mutual_information_x"] <= np.log(256) + 1e-9
    # Training makes the decoder informative: the I(Z;Y) bound rises.
    first = [r["mutual_information_y"] for r in rows if r["epoch"] == 0 and r["split"] == "test"]
    last = [r["mutual_information_y"] for r in rows if r["epoch"] == 2 and r["split"] == "test"]
    assert last[0] > first[0] + 0.5

    with open(tmp_path / "information_plane.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    png = (tmp_path / "information_plane.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    event_files = os.listdir(tmp_path / "tensorboard" / "information_plane")
    assert len(event_files) == 1
    tags = {value.tag for event in tf.compat.v1.train.summary_iterator(
        str(tmp_path / "tensorboard" / "information_plane" / event_files[0]))
        for value in event.summary.value}
    assert f"information_plane/dropout/{estimator}/test/I(X;Z)" in tags
    assert not any(name.endswith(".incomplete") for name in os.listdir(tmp_path))


def test_callback_rejects_bad_every(tmp_path):
    with pytest.raises(ValueError, match=r"`every`.*Received: every=0"):
        information.InformationPlane(str(tmp_path), ["dropout"], [], [], every=0)


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


@pytest.mark.parametrize("every", [0, True, 1.0])
def test_callback_rejects_bad_intervals_before_creating_the_workdir(tmp_path, every):
    workdir = str(tmp_path / "plane")
    with pytest.raises(ValueError, match=rf"`every`\..*Received: every={every!r}$"):
        information.InformationPlane(workdir, ["dropout"], [], [], every=every)
    assert not os.path.exists(workdir)


def test_importing_the_package_leaves_the_plotting_backend_alone():
    # A notebook user's backend must survive `import infodropout_tf...`.
    script = ("import matplotlib; matplotlib.use('svg'); import infodropout_tf.information, "
              "infodropout_tf.callbacks, infodropout_tf.training.apps; "
              "print(matplotlib.get_backend())")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), check=True)
    assert result.stdout.strip().splitlines()[-1] == "svg"


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
        assert set(row) >= set(information.plane.FIELDS) - {"epoch", "split"}
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


def test_the_callback_checks_estimators_before_writing(tmp_path):
    workdir = tmp_path / "plane"
    with pytest.raises(ValueError, match=r"for layer 'dense' one of .*not 'mne'"):
        information.InformationPlane(str(workdir), ["dense"], [], [], estimators={"dense": "mne"})
    assert not workdir.exists()
    plane = information.InformationPlane(str(workdir), ["dense"], _NoData(), _NoData(),
                                         estimators={"dense": "closed_form_kl"})
    plane.set_model(_dense_and_binary_dropout())
    with pytest.raises(ValueError, match=r"'closed_form_kl' holds only for InformationDropout"):
        plane.on_train_begin()
    assert os.listdir(workdir) == []


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
    assert information.plane.default_estimator(model.get_layer("noise")) == "gaussian_mixture"
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


def test_a_resumed_plane_refuses_rows_it_never_writes(tmp_path):
    from infodropout_tf.information.plane import FIELDS
    from infodropout_tf.information.plane import _ROW_FIELDS
    from infodropout_tf.workdir_files import WorkdirError

    assert tuple(_ROW_FIELDS) == FIELDS  # every column the CSV and the plots read
    row = {"epoch": 1, "split": "train", "layer": "dense", "estimator": "binning",
           "mutual_information_x": 2.0, "mutual_information_y": 0.5,
           "relative_to_prior_constant": False}
    path = tmp_path / "information_plane.json"
    path.write_text(json.dumps([row, {**row, "mutual_information_x": "2.0"}]))
    before = path.read_bytes()
    plane = information.InformationPlane(str(tmp_path), ["dense"], _NoData(), _NoData(),
                                         resume=True)
    plane.set_model(_dense_and_binary_dropout())
    with pytest.raises(WorkdirError, match=(
            f"^{path}, item 1, field `mutual_information_x` is \"2.0\", where a number is "
            r"expected. Restore it from a copy, or pass resume=False to record the plane anew.$")):
        plane.on_train_begin()
    assert path.read_bytes() == before
