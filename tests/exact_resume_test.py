"""Exact resume: a run stopped anywhere and rerun ends as the uninterrupted run.

The state that decides the rest of a run is the weights, the optimizer (its
iteration drives the learning-rate schedule), the noise layers' seed
generators and the data order. The first three are in the backup; the data
order of epoch k is a function of the seed and k alone
(`data.load_epochs`). So on one CPU, where TensorFlow's kernels are
deterministic, the final weights, optimizer state, training log and
metrics are bit-identical to the uninterrupted run's.

The fast tests stop the run in-process (an exception raised from a
callback in the middle of an epoch, as a crash would); the slow ones kill a
real `infodropout-train` process with SIGKILL.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from infodropout_tf.training import config as config_lib
from infodropout_tf.training import trainer

ROOT = pathlib.Path(__file__).resolve().parents[1]


class _Crash(Exception):
    """Stands for a crash in the middle of training."""


class _CrashAtStep(keras.callbacks.Callback):
    """Raises `_Crash` after the `step`-th training step of this process."""

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.steps_done = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done += 1
        if self.steps_done == self.step:
            raise _Crash()


def _train(config, workdir, monkeypatch, crash_at_step=None):
    """`train_and_evaluate`, crashing after `crash_at_step` steps if given."""
    callbacks = trainer._callbacks
    with monkeypatch.context() as patch:
        if crash_at_step is not None:
            patch.setattr(trainer, "_callbacks", lambda *args: callbacks(*args) + [
                _CrashAtStep(crash_at_step)])
        return trainer.train_and_evaluate(config, str(workdir))


def _state(workdir):
    """Every variable of the final model (weights, optimizer, seed
    generators), the training log and the metrics, as bytes and arrays."""
    model = keras.models.load_model(os.path.join(workdir, "model.keras"))
    variables = [np.asarray(v) for v in model.variables]
    variables += [np.asarray(v) for v in model.optimizer.variables]
    log = pathlib.Path(workdir, "training_log.csv").read_text()
    metrics = pathlib.Path(workdir, "metrics.json").read_text()
    return variables, log, metrics


def _assert_same_run(workdir, reference):
    variables, log, metrics = _state(workdir)
    expected_variables, expected_log, expected_metrics = _state(reference)
    assert len(variables) == len(expected_variables)
    for got, expected in zip(variables, expected_variables):
        np.testing.assert_array_equal(got, expected)
    assert log == expected_log
    assert metrics == expected_metrics


CONFIGS = {
    # An MLP with information dropout on MNIST, 4 epochs of 5 steps.
    "testing": {"num_epochs": 4, "steps_per_epoch": 5},
    # The information-dropout VAE: its latent samples at evaluation too, and
    # the training images are binarised anew each epoch.
    "mnist_vae": {"num_epochs": 3, "steps_per_epoch": 4,
                  "model.latent": "information_dropout"},
}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """name -> workdir of each config trained without interruption."""
    return {}


def _config(name):
    config = config_lib.testing_overrides(
        config_lib.from_file(str(ROOT / "configs" / f"{name}.py")))
    config.update_from_flattened_dict(CONFIGS[name])
    return config


def _reference(name, uninterrupted, tmp_path_factory, monkeypatch):
    if name not in uninterrupted:
        workdir = tmp_path_factory.mktemp(f"uninterrupted_{name}") / "run"
        _train(_config(name), workdir, monkeypatch)
        uninterrupted[name] = workdir
    return uninterrupted[name]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_crash_in_the_middle_of_an_epoch_changes_nothing(name, uninterrupted, tmp_path,
                                                           tmp_path_factory,
                                                           monkeypatch):
    reference = _reference(name, uninterrupted, tmp_path_factory, monkeypatch)
    steps = CONFIGS[name]["steps_per_epoch"]
    workdir = tmp_path / "run"
    with pytest.raises(_Crash):
        # Two steps into the second epoch: the backup holds epoch 1.
        _train(_config(name), workdir, monkeypatch, crash_at_step=steps + 2)
    _train(_config(name), workdir, monkeypatch)
    _assert_same_run(workdir, reference)


def test_two_crashes_change_nothing(uninterrupted, tmp_path, tmp_path_factory,
                                    monkeypatch):
    reference = _reference("testing", uninterrupted, tmp_path_factory, monkeypatch)
    workdir = tmp_path / "run"
    # In epoch 1, then (counting from the resume at epoch 1) in epoch 3.
    for crash_at_step in (3, 5 + 3):
        with pytest.raises(_Crash):
            _train(_config("testing"), workdir, monkeypatch,
                   crash_at_step=crash_at_step)
    _train(_config("testing"), workdir, monkeypatch)
    _assert_same_run(workdir, reference)


def test_the_test_can_tell_a_different_run(uninterrupted, tmp_path, tmp_path_factory,
                                           monkeypatch):
    """Another seed (other noise, other data order) fails the comparison, so
    the tests above would see a resume that lost any random state."""
    reference = _reference("testing", uninterrupted, tmp_path_factory, monkeypatch)
    config = _config("testing")
    config.seed = 1
    _train(config, tmp_path / "run", monkeypatch)
    with pytest.raises(AssertionError):
        _assert_same_run(tmp_path / "run", reference)


# Real kills of the command ------------------------------------------------------------

def _command(workdir):
    arguments = [f"--config={ROOT / 'configs' / 'testing.py'}", "--config.num_epochs=3",
                 "--config.steps_per_epoch=40", f"--workdir={workdir}"]
    script = ("import sys; from infodropout_tf.training import apps; "
              f"sys.argv = ['infodropout-train'] + {arguments!r}; apps.run_train()")
    return [sys.executable, "-c", script]


def _backup_epoch(workdir):
    path = pathlib.Path(workdir, "backup", "training_metadata.json")
    try:
        return json.loads(path.read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _run_and_kill_during(workdir, epoch):
    """Starts the command and SIGKILLs it shortly after epoch `epoch` began
    (its previous epoch committed); returns whether it was still running."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(_command(workdir), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _backup_epoch(workdir) < epoch - 1 and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # into the epoch's steps
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return running


@pytest.mark.slow
@pytest.mark.parametrize("kill_during", [(2,), (1, 3)], ids=["one kill", "two kills"])
def test_sigkill_in_the_middle_of_an_epoch_changes_nothing(kill_during, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(_command(tmp_path / "reference"), env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workdir = tmp_path / "run"
    for epoch in kill_during:
        assert _run_and_kill_during(workdir, epoch), "the run ended before the kill"
        assert _backup_epoch(workdir) == epoch - 1, "the kill came after the epoch's end"
    subprocess.run(_command(workdir), env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    _assert_same_run(workdir, tmp_path / "reference")
