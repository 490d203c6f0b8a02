"""Row 4's networks under the released estimator: which representation, which
noise, which checkpoints, and one line for a run that is not there."""

import json
import os
import pathlib

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf import models
from infodropout_tf.results import adilova_reference
from infodropout_tf.results import plane_reference
from infodropout_tf.training import config as config_lib
from infodropout_tf.training import experiment
from infodropout_tf.workdir_files import WorkdirError

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
NUM_INPUTS = 40


def _softplus(x):
    return np.logaddexp(0.0, x)


def _dense_weights(model):
    return [model.network.get_layer(name).get_weights()
            for name in ("dense1", "dense2", "dense3")]


def _fake_run(workdir, data_dir):
    """A workdir as the trainer leaves it for the MLP plane config, shrunk:
    two epoch checkpoints (the second with the last hidden layer's biases
    raised by 3 and its unit 0 dead), config.json and information_plane.json; returns
    each checkpoint's Dense weights."""
    config = config_lib.from_file(str(CONFIGS / "mnist_mlp_information_plane.py"))
    config.model.hidden_units = (16, 8, 4)
    config.dataset.data_dir = data_dir
    model = models.build(experiment.model_config(config, 60_000))
    model(np.zeros((1, 28, 28, 1), "float32"))
    os.makedirs(os.path.join(workdir, "checkpoints"))
    model.save(os.path.join(workdir, "checkpoints", "epoch_0001.keras"))
    first = _dense_weights(model)
    dense = model.network.get_layer("dense3")  # dropout3's input
    kernel, bias = dense.get_weights()
    # Every activation larger whatever the random initial weights, unlike a
    # doubling (which can leave the mean where it was).
    bias = bias + 3.0
    # Unit 0 dead: softplus(-200) is 0 in float32 for every input.
    kernel[:, 0], bias[0] = 0.0, -200.0
    dense.set_weights([kernel, bias])
    model.save(os.path.join(workdir, "checkpoints", "epoch_0002.keras"))
    # Neither an epoch checkpoint: left out.
    model.save(os.path.join(workdir, "checkpoints", "interrupted.keras"))
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json())
    rows = [{"epoch": epoch, "split": split, "layer": "dropout3", "estimator": estimator,
             "mutual_information_x": value, "mutual_information_y": 1.0,
             "relative_to_prior_constant": False}
            for epoch, value in ((0, 1.5), (1, 4.0), (2, 5.0))
            for split in ("train", "test") for estimator in ("gaussian_mixture", "binning")]
    with open(os.path.join(workdir, "information_plane.json"), "w") as f:
        json.dump(rows, f)
    return first, _dense_weights(model)


def _hidden_by_hand(weights, images):
    """The dropout layer's input, computed from the Dense weights in numpy."""
    x = images.reshape(len(images), -1).astype(np.float64)
    for kernel, bias in weights:
        x = _softplus(x @ kernel + bias)
    return x


def test_every_epoch_is_estimated_on_the_noise_free_input_of_the_dropout_layer(
        tmp_path, shared_data_dir):
    workdir = str(tmp_path / "plane_mlp_gaussian")
    os.makedirs(workdir)
    first_weights, last_weights = _fake_run(workdir, shared_data_dir)
    run = plane_reference.evaluate_run(workdir, num_inputs=NUM_INPUTS, seed=3)

    assert run["layer"] == "dropout3" and run["num_inputs"] == NUM_INPUTS
    assert [row["epoch"] for row in run["epochs"]] == [1, 2]
    assert run["plane_package"] == {1: 4.0, 2: 5.0, 0: 1.5}
    assert run["plane_log_n"] == pytest.approx(np.log(10_000))
    images = np.concatenate([x for x, _ in data.load("mnist", f"train[:{NUM_INPUTS}]",
                                                     batch_size=NUM_INPUTS, shuffle=False)])
    # The second checkpoint's weights, its dead unit 0 left out.
    means = _hidden_by_hand(last_weights, images)[:, 1:]
    last = run["epochs"][-1]
    assert last["zero_units"] == 1 and run["epochs"][0]["zero_units"] == 0
    # Rate 1/6: noise variance 0.2.
    assert last["sigma"] == pytest.approx(np.sqrt(0.2), rel=1e-6)
    assert last["mean_activation"] == pytest.approx(np.mean(means), rel=1e-5)
    for label, c in (("c = 1/99", 1 / 99), ("c = sigma", np.sqrt(0.2))):
        released = last["released"][label]
        assert released["c"] == pytest.approx(c, rel=1e-6)
        expected = adilova_reference.reference_code_information(
            means, np.sqrt(0.2), c, draws_per_input=adilova_reference.DRAWS_PER_INPUT, seed=3)
        assert released["reference"] == pytest.approx(expected["mutual_information"], rel=1e-4)
        assert released["predicted_reference"] == pytest.approx(np.log(NUM_INPUTS) + (
            adilova_reference.reference_code_bias_bound(means, np.sqrt(0.2), c)), rel=1e-5)
    # The package's estimate of the same inputs cannot exceed log n (plus
    # its Monte-Carlo error).
    assert last["package"] <= np.log(NUM_INPUTS) + 4 * last["package_standard_error"]
    # Epoch 1 is its own checkpoint, the weights before the change, not
    # epoch 2 read twice.
    first = np.mean(_hidden_by_hand(first_weights, images))  # no dead unit
    assert abs(first - np.mean(means)) > 0.05 * first
    assert run["epochs"][0]["mean_activation"] == pytest.approx(first, rel=1e-5)


def test_changes_measure_from_the_released_estimates_peak():
    def row(epoch, reference, predicted, activation):
        return {"epoch": epoch, "package": 6.9, "mean_activation": activation,
                "released": {"c = 1/99": {"reference": reference,
                                          "predicted_reference": predicted}}}
    # Epoch 1's prediction is None (a zero activation): left out of the
    # correlation, which is exactly 1 over the other epochs.
    run = {"epochs": [row(1, 10.0, None, 1.0), row(2, 30.0, 31.0, 3.0),
                      row(3, 20.0, 21.0, 2.0), row(4, 25.0, 26.0, 2.5)]}
    changes = plane_reference.changes(run)["c = 1/99"]
    assert changes["peak_epoch"] == 2
    assert changes["reference"] == {"first": 10.0, "at_peak": 30.0, "last": 25.0, "min": 10.0,
                                    "max": 30.0}
    assert changes["predicted_reference"]["first"] is None
    assert changes["predicted_reference"]["min"] == 21.0
    assert changes["mean_activation"]["at_peak"] == 3.0
    assert changes["correlation_reference_predicted"] == pytest.approx(1.0)
    assert changes["correlation_reference_log_mean_activation"] == pytest.approx(
        np.corrcoef([30, 20, 25], np.log([3.0, 2.0, 2.5]))[0, 1])


def test_a_run_without_epoch_checkpoints_is_one_line(tmp_path, capsys):
    workdir = tmp_path / "plane_mlp_gaussian"
    (workdir / "checkpoints").mkdir(parents=True)
    with pytest.raises(WorkdirError, match="holds no epoch_NNNN.keras"):
        plane_reference.checkpoints(str(workdir))
    with pytest.raises(SystemExit) as exit_info:
        plane_reference.main(["--root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    message = str(exit_info.value.code)
    assert message.startswith("error:") and "config.json" in message
    assert "infodropout-reproduce run plane" in message and "\n" not in message
    assert not list((tmp_path / "o").iterdir())  # nothing written


def test_an_output_folder_that_cannot_be_written_is_one_line_before_any_work(
        tmp_path, capsys):
    not_a_folder = tmp_path / "results"
    not_a_folder.write_text("a file where the folder should be")
    with pytest.raises(SystemExit) as exit_info:
        plane_reference.main(["--root", str(tmp_path / "missing"), "--out",
                              str(not_a_folder / "plots")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--out" in error and "cannot write there" in error
    assert not_a_folder.read_text() == "a file where the folder should be"


def test_a_run_of_another_noise_is_one_line(tmp_path, shared_data_dir):
    workdir = tmp_path / "plane_mlp_gaussian"
    workdir.mkdir()
    config = config_lib.from_file(str(CONFIGS / "mnist_mlp_information_plane.py"))
    config.model.noise = "information"
    (workdir / "config.json").write_text(config.to_json())
    with pytest.raises(WorkdirError, match='"gaussian"'):
        plane_reference.evaluate_run(str(workdir))
