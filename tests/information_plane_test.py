"""The information-plane callback (`infodropout_tf.callbacks.InformationPlane`),
in short training runs on real MNIST."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import callbacks
from infodropout_tf import models


# The closed-form case is slow (left out of CI): the callback's writing is the
# Gaussian case's, and in CI training_test's mnist_lenet_information_plane
# smoke run and test_the_plane_uses_the_estimators_of_the_config train with a
# closed-form plane.
@pytest.mark.parametrize("noise,estimator", [
    pytest.param("information", "closed_form_kl", marks=pytest.mark.slow),
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
    callback = callbacks.InformationPlane(
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
        callbacks.InformationPlane(str(tmp_path), ["dropout"], [], [], every=0)


@pytest.mark.parametrize("every", [0, True, 1.0])
def test_callback_rejects_bad_intervals_before_creating_the_workdir(tmp_path, every):
    workdir = str(tmp_path / "plane")
    with pytest.raises(ValueError, match=rf"`every`\..*Received: every={every!r}$"):
        callbacks.InformationPlane(workdir, ["dropout"], [], [], every=every)
    assert not os.path.exists(workdir)


@pytest.mark.slow  # a fresh interpreter importing TensorFlow: left to the release's run
def test_importing_the_package_leaves_the_plotting_backend_alone():
    # A notebook user's backend must survive `import infodropout_tf...`.
    script = ("import matplotlib; matplotlib.use('svg'); import infodropout_tf.information, "
              "infodropout_tf.callbacks, infodropout_tf.training.apps; "
              "print(matplotlib.get_backend())")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), check=True)
    assert result.stdout.strip().splitlines()[-1] == "svg"


class _NoData:
    def __iter__(self):
        raise AssertionError("an estimate was started")


def _dense_model():
    """20 inputs -> Dense(16, relu) "dense" -> 3 logits."""
    inputs = keras.Input((20,))
    features = keras.layers.Dense(16, activation="relu", name="dense")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, name="logits")(features))


def test_the_callback_checks_estimators_before_writing(tmp_path):
    workdir = tmp_path / "plane"
    with pytest.raises(ValueError, match=r"for layer 'dense' one of .*not 'mne'"):
        callbacks.InformationPlane(str(workdir), ["dense"], [], [], estimators={"dense": "mne"})
    assert not workdir.exists()
    plane = callbacks.InformationPlane(str(workdir), ["dense"], _NoData(), _NoData(),
                                       estimators={"dense": "closed_form_kl"})
    plane.set_model(_dense_model())
    with pytest.raises(ValueError, match=r"'closed_form_kl' holds only for InformationDropout"):
        plane.on_train_begin()
    assert os.listdir(workdir) == []


def test_a_resumed_plane_refuses_rows_it_never_writes(tmp_path):
    from infodropout_tf.workdir_files import WorkdirError

    row = {"epoch": 1, "split": "train", "layer": "dense", "estimator": "binning",
           "mutual_information_x": 2.0, "mutual_information_y": 0.5,
           "relative_to_prior_constant": False}
    path = tmp_path / "information_plane.json"
    path.write_text(json.dumps([row, {**row, "mutual_information_x": "2.0"}]))
    before = path.read_bytes()
    plane = callbacks.InformationPlane(str(tmp_path), ["dense"], _NoData(), _NoData(),
                                       resume=True)
    plane.set_model(_dense_model())
    with pytest.raises(WorkdirError, match=(
            f"^{path}, item 1, field `mutual_information_x` is \"2.0\", where a number is "
            r"expected. Restore it from a copy, or pass resume=False to record the plane anew.$")):
        plane.on_train_begin()
    assert path.read_bytes() == before
