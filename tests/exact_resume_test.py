"""Exact resume: a run stopped anywhere and rerun ends as the uninterrupted run.

The state that decides the rest of a run is the weights, the optimizer (its
iteration drives the learning-rate schedule), the noise layers' seed
generators and the data order. The first three are in the backup; the data
order of epoch k is a function of the seed and k alone
(`data.load_epochs`). So on one CPU, where TensorFlow's kernels are
deterministic, the final weights, optimizer state, training log and
metrics are bit-identical to the uninterrupted run's.

The fast tests stop the run in-process (an exception raised from a
callback in the middle of an epoch, as a crash would); the slow ones make
the command's process SIGKILL itself at a chosen training step.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys

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


@pytest.mark.slow  # one crash is CI's (above); two compound the same resume
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

# Makes the command SIGKILL itself after `step` training steps of this
# process: a kill at a known instant in the middle of an epoch.
_KILL_AT_STEP = """
import os, signal, keras
from infodropout_tf.training import trainer
class KillAtStep(keras.callbacks.Callback):
    steps_done = 0
    def on_train_batch_end(self, batch, logs=None):
        KillAtStep.steps_done += 1
        if KillAtStep.steps_done == {step}:
            os.kill(os.getpid(), signal.SIGKILL)
_callbacks = trainer._callbacks
trainer._callbacks = lambda *args: _callbacks(*args) + [KillAtStep()]
"""

STEPS = 10


def _command(workdir, prelude=""):
    arguments = [f"--config={ROOT / 'configs' / 'testing.py'}", "--config.num_epochs=4",
                 f"--config.steps_per_epoch={STEPS}", f"--workdir={workdir}"]
    script = "\n".join([
        "import sys", prelude, "from infodropout_tf.training import apps",
        f"sys.argv = ['infodropout-train'] + {arguments!r}", "apps.run_train()"])
    return subprocess.run([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=600,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def _completed_epochs(workdir):
    path = pathlib.Path(workdir, "backup", "training_metadata.json")
    return json.loads(path.read_text())["epoch"] if path.exists() else 0


@pytest.mark.slow
@pytest.mark.parametrize("kill_at_steps", [(STEPS + 4,), (3, 2 * STEPS + 6)],
                         ids=["one kill", "two kills"])
def test_sigkill_in_the_middle_of_an_epoch_changes_nothing(kill_at_steps, tmp_path):
    assert _command(tmp_path / "reference").returncode == 0
    workdir = tmp_path / "run"
    completed = 0
    for step in kill_at_steps:
        result = _command(workdir, _KILL_AT_STEP.format(step=step))
        assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
        # Steps count from the resume; the kill fell inside an epoch.
        completed += step // STEPS
        assert _completed_epochs(workdir) == completed
    assert _command(workdir).returncode == 0
    _assert_same_run(workdir, tmp_path / "reference")
