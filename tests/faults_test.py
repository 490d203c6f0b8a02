"""Fault injection: kills, divergence, full disks and bad input, on the tiny config.

Each test reproduces one way a run used to lose or mix its outputs, and
asserts what a user sees: the exit status, one error line without a
traceback, a workdir left byte for byte as it was where nothing should
change, and after a rerun every epoch logged exactly once, in the CSV and
in TensorBoard, with no partial file left behind.
"""

import csv
import json
import logging
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import atomic_files
from infodropout_tf.training import config as config_lib
from infodropout_tf.training import evaluate as evaluate_lib
from infodropout_tf.training import trainer
from infodropout_tf.training.callbacks import FiniteStateGuard
from infodropout_tf.training.callbacks import NonFiniteLossError
from infodropout_tf.training.workdir import WorkdirError

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTING = str(ROOT / "configs" / "testing.py")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _cli(*arguments, prelude="", program="run_train"):
    """Runs a command-line program in a fresh process, `prelude` first."""
    script = "\n".join([
        "import sys", prelude, "from infodropout_tf.training import apps",
        f"sys.argv = ['infodropout'] + {list(arguments)!r}", f"apps.{program}()"])
    return subprocess.Popen([sys.executable, "-c", script], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def _one_error_line(stderr):
    """The last stderr line, after checking there is no traceback."""
    assert "Traceback" not in stderr, stderr[-3000:]
    return stderr.strip().splitlines()[-1]


def _snapshot(directory):
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(pathlib.Path(directory).rglob("*")) if p.is_file()}


def _csv_epochs(workdir):
    with open(os.path.join(workdir, "training_log.csv")) as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def _tensorboard_steps(workdir, split, tag="epoch_loss"):
    steps = []
    directory = os.path.join(workdir, "tensorboard", split)
    for name in sorted(os.listdir(directory)):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(directory, name)):
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return sorted(steps)


def _temporaries(workdir):
    return [str(p) for p in pathlib.Path(workdir).rglob("*")
            if atomic_files.is_temporary(p.name)]


def _assert_complete(workdir, num_epochs):
    """Every epoch logged once, final outputs present, nothing partial."""
    assert _csv_epochs(workdir) == list(range(num_epochs))
    # TensorBoard steps are epoch indices, as the CSV's rows; checkpoints
    # are named by epochs completed.
    epochs = list(range(num_epochs))
    assert _tensorboard_steps(workdir, "train") == epochs
    assert _tensorboard_steps(workdir, "validation") == epochs
    assert _tensorboard_steps(workdir, "analysis", "information_flow/dropout1/total") == epochs
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == [
        f"epoch_{e + 1:04d}.keras" for e in epochs]
    assert json.loads((pathlib.Path(workdir) / "backup" / "training_metadata.json")
                      .read_text())["epoch"] == num_epochs
    assert (pathlib.Path(workdir) / "metrics.json").exists()
    assert _temporaries(workdir) == []


@pytest.fixture(scope="module")
def finished(tmp_path_factory, testing_config):
    """A workdir of the testing config trained to the end (2 epochs)."""
    workdir = tmp_path_factory.mktemp("finished") / "run"
    trainer.train_and_evaluate(testing_config(), str(workdir))
    return workdir


@pytest.fixture
def finished_copy(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


# 1 and 3: a kill at any point of an epoch's end leaves a resumable state ----------

# The second backup write (epoch 2) is cut in half, then the process dies:
# whatever file name the backup uses, the state it wrote before must survive.
_KILL_INSIDE_SAVE_WEIGHTS = """
import os, signal, keras
_save_weights = keras.Model.save_weights
_backups = []
def save_weights(self, filepath, *args, **kwargs):
    _save_weights(self, filepath, *args, **kwargs)
    if "backup" in str(filepath):
        _backups.append(filepath)
        if len(_backups) == 2:
            with open(filepath, "r+b") as f:
                f.truncate(os.path.getsize(filepath) // 2)
            os.kill(os.getpid(), signal.SIGKILL)
keras.Model.save_weights = save_weights
"""

_KILL_BEFORE_RENAME = """
import os, signal
from infodropout_tf import atomic_files
_commit = atomic_files._commit
def commit(temporary, path):
    if {pattern!r} in path:
        if os.path.isfile(temporary):
            with open(temporary, "r+b") as f:
                f.truncate(os.path.getsize(temporary) // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    _commit(temporary, path)
atomic_files._commit = commit
"""


@pytest.mark.slow
@pytest.mark.parametrize("prelude, committed", [
    (_KILL_INSIDE_SAVE_WEIGHTS, 1),
    (_KILL_BEFORE_RENAME.format(pattern="checkpoints/epoch_0002"), 1),
    (_KILL_BEFORE_RENAME.format(pattern="saved_model"), 3),
], ids=["backup weights", "epoch checkpoint", "SavedModel"])
def test_sigkill_while_writing_leaves_a_resumable_workdir(prelude, committed, tmp_path, caplog,
                                                          testing_config):
    workdir = tmp_path / "run"
    process = _cli(f"--config={TESTING}", "--config.num_epochs=3", f"--workdir={workdir}",
                   prelude=prelude)
    status, _, stderr = _finish(process)
    assert status == -signal.SIGKILL, stderr[-3000:]
    assert not (workdir / "metrics.json").exists()
    assert json.loads((workdir / "backup" / "training_metadata.json").read_text())["epoch"] == \
        committed
    first_row = (workdir / "training_log.csv").read_text().splitlines()[:2]

    caplog.set_level(logging.INFO, logger="absl")
    trainer.train_and_evaluate(testing_config(num_epochs=3), str(workdir))
    assert f"Resuming from epoch {committed} of 3." in caplog.messages
    # From the backup itself, not from a checkpoint fallback.
    assert not [m for m in caplog.messages if "; resuming from " in m]
    assert (workdir / "training_log.csv").read_text().splitlines()[:2] == first_row
    _assert_complete(workdir, 3)


@pytest.mark.slow
def test_sigterm_saves_the_model_exits_143_and_the_rerun_resumes(tmp_path):
    workdir = tmp_path / "run"
    # The learning rate drops at epoch 2: the resumed run must continue the schedule.
    arguments = [f"--config={TESTING}", "--config.num_epochs=3", "--config.steps_per_epoch=100",
                 "--config.optimizer.boundaries=(2,)", f"--workdir={workdir}"]
    process = _cli(*arguments)
    committed = workdir / "backup" / "training_metadata.json"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None and not committed.exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    status, _, stderr = _finish(process)
    assert status == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    interrupted = keras.models.load_model(workdir / "checkpoints" / "interrupted.keras")
    assert all(np.isfinite(w).all() for w in interrupted.get_weights())

    resumed = _cli(*arguments)
    status, _, stderr = _finish(resumed)
    assert status == 0, stderr[-3000:]
    assert "Resuming from epoch" in stderr
    assert _csv_epochs(workdir) == [0, 1, 2]
    assert _tensorboard_steps(workdir, "train") == [0, 1, 2]
    with open(workdir / "training_log.csv") as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    np.testing.assert_allclose(rates, [0.05, 0.05, 0.005], rtol=1e-6)


# 3 and 8: a full disk ---------------------------------------------------------------

@pytest.mark.slow
def test_full_disk_during_a_checkpoint_is_one_line_and_the_rerun_completes(tmp_path,
                                                                           testing_config):
    prelude = """
import errno, os, keras
_save = keras.Model.save
def save(self, filepath, *args, **kwargs):
    if "epoch_0002" in str(filepath):
        with open(filepath, "wb") as f:
            f.write(b"PK partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _save(self, filepath, *args, **kwargs)
keras.Model.save = save
"""
    workdir = tmp_path / "run"
    process = _cli(f"--config={TESTING}", f"--workdir={workdir}", prelude=prelude)
    status, _, stderr = _finish(process)
    assert status == 1
    line = _one_error_line(stderr)
    assert line.startswith(f"error: could not write {workdir}/checkpoints/epoch_0002.keras "
                           "(No space left on device)")
    assert _temporaries(workdir) == []
    assert sorted(os.listdir(workdir / "checkpoints")) == ["epoch_0001.keras"]
    assert json.loads((workdir / "backup" / "training_metadata.json").read_text())["epoch"] == 1

    trainer.train_and_evaluate(testing_config(), str(workdir))
    _assert_complete(workdir, 2)


# 2: a diverged epoch is never saved -------------------------------------------------

def test_an_epoch_with_nan_validation_loss_is_not_saved(tmp_path, testing_config):
    # The learning rate jumps by 1e12 for the last step of epoch 2: every
    # training loss of the epoch is finite, its validation loss is NaN.
    config = testing_config(**{"num_epochs": 3, "optimizer.boundaries": (1.34,),
                        "optimizer.decay": 1e12})
    workdir = tmp_path / "run"
    with pytest.raises(NonFiniteLossError) as raised:
        trainer.train_and_evaluate(config, str(workdir))
    assert str(raised.value).startswith("the validation loss became nan at epoch 2; ")
    assert "checkpoints/epoch_0001.keras keep the state after epoch 1" in str(raised.value)
    assert _csv_epochs(workdir) == [0]
    assert sorted(os.listdir(workdir / "checkpoints")) == ["epoch_0001.keras"]
    metadata = json.loads((workdir / "backup" / "training_metadata.json").read_text())
    assert metadata == {"epoch": 1, "weights": "epoch_0001.weights.h5"}
    backup = keras.models.load_model(workdir / "checkpoints" / "epoch_0001.keras")
    assert all(np.isfinite(w).all() for w in backup.get_weights())


def test_divergence_in_the_first_epoch_says_nothing_was_saved(tmp_path, testing_config):
    workdir = tmp_path / "run"
    with pytest.raises(NonFiniteLossError, match="at epoch 1; training stopped and no epoch "
                                                 "completed, so nothing was saved"):
        trainer.train_and_evaluate(testing_config(**{"optimizer.learning_rate": 1e12}),
                                   str(workdir))
    assert not (workdir / "backup").exists() and not (workdir / "checkpoints").exists()


@pytest.mark.parametrize("corrupt", ["weight", "optimizer", "validation loss"])
def test_guard_refuses_any_non_finite_state(corrupt):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    guard = FiniteStateGuard("/nowhere")
    guard.set_model(model)
    guard.on_epoch_begin(4)
    logs = {"loss": 1.0, "val_loss": 1.0}
    guard.on_epoch_end(4, logs)  # a finite state passes
    if corrupt == "weight":
        model.layers[0].kernel.assign(np.full((3, 2), np.inf))
    elif corrupt == "optimizer":
        momentum = [v for v in model.optimizer.variables if "momentum" in v.path][0]
        momentum.assign(np.full(momentum.shape, np.nan))
    else:
        logs["val_loss"] = float("nan")
    with pytest.raises(NonFiniteLossError, match="at epoch 5; .*after epoch 4"):
        guard.on_epoch_end(4, logs)


# 4, 5, 6, 7: configs are checked before anything is written --------------------------

@pytest.mark.parametrize("field, value, expected", [
    ("model.beta", -1.0, "argument `beta`"),
    ("num_epochs", 0, "`num_epochs`: expected an integer >= 1, received 0"),
    ("num_epochs", -1, "`num_epochs`: expected an integer >= 1, received -1"),
    ("batch_size", 0, r"`batch_size`: expected an integer in \[1, 65536\], received 0"),
    ("batch_size", 60_001, "`batch_size`: 60001 is larger than the 60000 examples"),
    ("optimizer.learning_rate", -0.1, "`optimizer.learning_rate`: expected a finite number > 0"),
    ("eval_num_samples", 0,
     r"`eval_num_samples`: expected an integer in \[1, 1000\], received 0"),
    ("dtype_policy", "mixed_float32", "^invalid config field `dtype_policy`: expected one of "
     r"\['float32', 'mixed_float16', 'mixed_bfloat16'\], received 'mixed_float32'\.$"),
    ("information_plane.enabled", True, "`information_plane.layers`: the model has no layer"),
    ("nuisance.enabled", True,
     "`nuisance.representation_layer`: the model has no layer 'head_conv2_relu'"),
    ("dataset.binarization", "otsu", r"^invalid config field `dataset.binarization`: expected "
     r"one of \['dynamic', 'static'\], received 'otsu'\.$"),
    ("model.beta_schedule.name", "exponential",
     r"`model.beta_schedule.name`: expected one of \['constant', 'linear', 'cosine'\]"),
    ("model.beta_schedule.initial_beta", -1.0,
     "`model.beta_schedule.initial_beta`: expected a finite number >= 0"),
    ("model.beta_schedule.layers", ("dense1",),
     r"`model.beta_schedule.layers`: \['dense1'\] are not KL layers of the model; its KL "
     r"layers are \['dropout1', 'dropout2', 'dropout3'\]"),
])
def test_a_rejected_config_writes_nothing(field, value, expected, tmp_path, testing_config):
    workdir = tmp_path / "run"
    with pytest.raises(config_lib.ConfigError, match=expected):
        trainer.train_and_evaluate(testing_config(**{field: value}), str(workdir))
    assert not workdir.exists()


def test_a_convolutional_nuisance_probe_on_a_flat_layer_is_refused_before_training(
        tmp_path, testing_config):
    workdir = tmp_path / "run"
    config = testing_config(**{"nuisance.enabled": True, "nuisance.representation_layer": "dense1",
                               "nuisance.probe": "conv"})
    with pytest.raises(config_lib.ConfigError,
                       match=r"^invalid config field `nuisance.probe`: 'conv' needs a \(height, "
                             r"width, channels\) representation, and 'dense1' outputs shape "
                             r"\(\d+,\); use 'mlp'\.$"):
        trainer.train_and_evaluate(config, str(workdir))
    assert not workdir.exists()


@pytest.mark.parametrize("estimators, expected", [
    (("dense1:mne",), r"^invalid config field `information_plane.estimators`: expected a tuple "
                      r"of \"layer:estimator\" strings, one per layer, each estimator one of "
                      r"\['closed_form_kl', 'gaussian_mixture', 'binning', 'mine'\], "
                      r"e\.g\. \(\"dropout:mine\",\), received \['dense1:mne'\]\.$"),
    (("dense1",), r"`information_plane.estimators`: expected a tuple of \"layer:estimator\""),
    (("dense1:mine", "dense1:binning"),
     r"`information_plane.estimators`: expected .* one per layer"),
    (("dense1:closed_form_kl",), r"^invalid config field `information_plane.estimators`: "
                                 r"'dense1:closed_form_kl': layer 'dense1' is a Dense, whose "
                                 r"estimators are \['binning', 'mine'\]\.$"),
    (("dense2:mine",), r"'dense2:mine' names a layer missing from information_plane.layers "
                       r"\('dense1', 'dropout1'\); add it there\.$"),
])
def test_a_rejected_plane_estimator_writes_nothing(estimators, expected, tmp_path,
                                                   testing_config):
    workdir = tmp_path / "run"
    config = testing_config(**{"information_plane.enabled": True,
                               "information_plane.layers": ("dense1", "dropout1"),
                               "information_plane.estimators": estimators})
    with pytest.raises(config_lib.ConfigError, match=expected):
        trainer.train_and_evaluate(config, str(workdir))
    assert not workdir.exists()


def test_the_corrected_rerun_is_accepted(tmp_path, testing_config):
    workdir = tmp_path / "run"
    with pytest.raises(config_lib.ConfigError):
        trainer.train_and_evaluate(testing_config(**{"model.beta": -1.0}), str(workdir))
    trainer.train_and_evaluate(testing_config(num_epochs=1), str(workdir))
    assert _csv_epochs(workdir) == [0]


def test_a_different_or_failing_rerun_leaves_a_finished_run_untouched(finished_copy,
                                                                      testing_config):
    before = _snapshot(finished_copy)
    with pytest.raises(config_lib.ConfigError, match="batch_size"):
        trainer.train_and_evaluate(testing_config(batch_size=0), str(finished_copy))
    with pytest.raises(WorkdirError, match=r"these fields differ: optimizer.learning_rate "
                                           r"\(0.05 here, 0.1 now\)\."):
        trainer.train_and_evaluate(testing_config(**{"optimizer.learning_rate": 0.1}),
                                   str(finished_copy))
    with pytest.raises(WorkdirError,
                       match=r"batch_size \(16 here, 8 now\), seed \(0 here, 3 now\)"):
        trainer.train_and_evaluate(testing_config(batch_size=8, seed=3), str(finished_copy))
    with pytest.raises(WorkdirError, match="holds 2 trained epochs, more than num_epochs=1"):
        trainer.train_and_evaluate(testing_config(num_epochs=1), str(finished_copy))
    stored = json.loads((finished_copy / "metrics.json").read_text())
    # Already done: the stored metrics, nothing written.
    assert trainer.train_and_evaluate(testing_config(), str(finished_copy)) == stored
    assert _snapshot(finished_copy) == before


def test_more_epochs_extend_a_finished_run(finished_copy, monkeypatch, testing_config):
    before = json.loads((finished_copy / "metrics.json").read_text())
    assert before["epochs"] == 2

    # Killed after the third epoch's commit, before the final outputs: the
    # metrics of the 2-epoch run must not pass for those of the 3-epoch one.
    def killed(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(trainer, "export", killed)
        with pytest.raises(KeyboardInterrupt):
            trainer.train_and_evaluate(testing_config(num_epochs=3), str(finished_copy))
    metrics = trainer.train_and_evaluate(testing_config(num_epochs=3), str(finished_copy))
    assert metrics["epochs"] == 3 and metrics != before
    assert json.loads((finished_copy / "config.json").read_text())["num_epochs"] == 3
    _assert_complete(finished_copy, 3)


# 8: unreadable resume state and models -------------------------------------------------

# Both damages take the same fallback; CI checks one, the release both.
@pytest.mark.parametrize("damage", [
    "empty metadata", pytest.param("truncated weights", marks=pytest.mark.slow)])
def test_an_unreadable_backup_falls_back_to_the_newest_checkpoint(damage, finished_copy,
                                                                  caplog, testing_config):
    backup = finished_copy / "backup"
    if damage == "empty metadata":
        (backup / "training_metadata.json").write_text("")
    else:
        weights = backup / "epoch_0002.weights.h5"
        weights.write_bytes(weights.read_bytes()[:1000])
    (finished_copy / "checkpoints" / "epoch_0002.keras").write_bytes(b"PK truncated")
    caplog.set_level(logging.INFO, logger="absl")
    trainer.train_and_evaluate(testing_config(num_epochs=3), str(finished_copy))
    assert any(message.endswith(f"resuming from {finished_copy}/checkpoints/epoch_0001.keras "
                                "(epoch 1) instead.") for message in caplog.messages)
    assert "Resuming from epoch 1 of 3." in caplog.messages
    _assert_complete(finished_copy, 3)


def test_a_checkpoint_past_num_epochs_is_refused_after_a_fallback(finished_copy, testing_config):
    (finished_copy / "backup" / "training_metadata.json").write_text("")
    before = _snapshot(finished_copy)
    with pytest.raises(WorkdirError, match="holds 2 trained epochs, more than num_epochs=1"):
        trainer.train_and_evaluate(testing_config(num_epochs=1), str(finished_copy))
    assert _snapshot(finished_copy) == before


def test_an_unreadable_backup_without_checkpoints_is_one_clear_error(finished_copy,
                                                                     testing_config):
    (finished_copy / "backup" / "training_metadata.json").write_text("")
    shutil.rmtree(finished_copy / "checkpoints")
    before = _snapshot(finished_copy)
    with pytest.raises(WorkdirError, match=r"the backup in .*backup is unreadable .* no readable "
                                           r"checkpoints/epoch_\*.keras remains"):
        trainer.train_and_evaluate(testing_config(num_epochs=3), str(finished_copy))
    assert _snapshot(finished_copy) == before


# Hand-edited or damaged workdir files: one line, and nothing finished deleted --------------

_STATE = "epoch_0002.weights.h5"


@pytest.mark.parametrize("metadata, expected", [
    ({"epoch": -1, "weights": _STATE}, "field `epoch` is -1, where an integer >= 0 is expected"),
    ({"epoch": True, "weights": _STATE}, "field `epoch` is true, where an integer >= 0 is "
                                         "expected"),
    ({"epoch": 1, "weights": _STATE},
     "field `weights` is 'epoch_0002.weights.h5', where the state file of epoch 1, "
     "'epoch_0001.weights.h5', is expected"),
    ({"epoch": 2, "weights": "../config.json"},
     "field `weights` is '../config.json', where the state file of epoch 2, "
     "'epoch_0002.weights.h5', is expected"),
    ([2, _STATE], "holds a JSON array, where a JSON object is expected"),
])
def test_backup_metadata_out_of_range_is_one_line_and_deletes_nothing(metadata, expected,
                                                                     finished_copy,
                                                                     testing_config):
    # Resuming from epoch -1 once deleted every finished epoch's outputs.
    path = finished_copy / "backup" / "training_metadata.json"
    path.write_text(json.dumps(metadata))
    before = _snapshot(finished_copy)
    with pytest.raises(WorkdirError) as caught:
        trainer.train_and_evaluate(testing_config(num_epochs=3), str(finished_copy))
    assert str(caught.value) == (
        f'{path} {expected}. It names the last completed epoch and its state file: restore it '
        f'to {{"epoch": 2, "weights": "{_STATE}"}} (the newest state in '
        f'{finished_copy / "backup"}), or delete it to resume from the newest readable '
        "checkpoints/epoch_NNNN.keras (the epochs after that checkpoint are then trained "
        "again).")
    assert _snapshot(finished_copy) == before


def test_backup_metadata_past_num_epochs_keeps_its_message(finished_copy, testing_config):
    path = finished_copy / "backup" / "training_metadata.json"
    path.write_text(json.dumps({"epoch": 7, "weights": "epoch_0007.weights.h5"}))
    before = _snapshot(finished_copy)
    with pytest.raises(WorkdirError, match="holds 7 trained epochs, more than num_epochs=3; pass "
                                           "--config.num_epochs=7 or more"):
        trainer.train_and_evaluate(testing_config(num_epochs=3), str(finished_copy))
    assert _snapshot(finished_copy) == before


@pytest.mark.parametrize("name, content, expected", [
    ("config.json", "[]", "holds a JSON array, where a JSON object is expected. This workdir's run "
                          "cannot be identified: use another --workdir, or delete this one to "
                          "start over."),
    ("metrics.json", "[0.1]", "holds a JSON array, where a JSON object is expected. Delete {path} "
                              "to evaluate the run again."),
    ("metrics.json", '{"epochs": true}', "field `epochs` is true, where an integer >= 1 is "
                                         "expected. Delete {path} to evaluate the run again."),
])
def test_a_stored_json_file_of_the_wrong_shape_is_one_line(name, content, expected,
                                                           finished_copy, testing_config):
    path = finished_copy / name
    path.write_text(content)
    before = _snapshot(finished_copy)
    with pytest.raises(WorkdirError) as caught:
        trainer.train_and_evaluate(testing_config(), str(finished_copy))
    assert str(caught.value) == f"{path} {expected.format(path=path)}"
    if name == "config.json":
        with pytest.raises(WorkdirError, match=re.escape(str(caught.value))):
            evaluate_lib.evaluate(testing_config(), str(finished_copy))
    assert _snapshot(finished_copy) == before


@pytest.mark.parametrize("line, expected", [
    (b"2," + b"9" * 200_000, r"is not a CSV log \(line 4: field larger than field limit"),
    (b"2,\xe9", r"is not UTF-8 text \(line 4, byte \d+ is b'\\xe9'\)"),
])
def test_a_damaged_training_log_is_one_line_and_deletes_nothing(line, expected, finished_copy,
                                                                 testing_config):
    log = finished_copy / "training_log.csv"
    log.write_bytes(log.read_bytes() + line + b"\r\n")
    before = _snapshot(finished_copy)
    with pytest.raises(WorkdirError, match=f"^{re.escape(str(log))} {expected}.*\\. Repair it"):
        trainer.train_and_evaluate(testing_config(num_epochs=3), str(finished_copy))
    assert _snapshot(finished_copy) == before


def _rewrite_model_config(path, edit):
    """Rewrites the config.json inside the `.keras` file at `path`."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = edit(members["config.json"].decode()).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def test_evaluate_names_a_class_keras_does_not_know(finished_copy, testing_config):
    model = finished_copy / "model.keras"
    _rewrite_model_config(model, lambda config: config.replace("InformationDropout",
                                                               "NoSuchDropout"))
    with pytest.raises(WorkdirError) as caught:
        evaluate_lib.evaluate(testing_config(), str(finished_copy))
    assert str(caught.value) == (
        f"cannot read the model {model}: Could not locate class 'NoSuchDropout'. Rerun training "
        "to rewrite it, or point at an intact file.")


@pytest.mark.slow
def test_hand_edited_files_are_one_line_from_the_commands(finished, tmp_path):
    """The issue's commands (extending the run to 3 epochs, evaluating it), each on its
    own copy of a finished run."""
    cases = {
        "metadata": ("backup/training_metadata.json", '{"epoch": -1, "weights": "%s"}' % _STATE,
                     "run_train", "field `epoch` is -1, where an integer >= 0 is expected."),
        "config": ("config.json", "[]", "run_train", "holds a JSON array, where a JSON object "
                                                     "is expected."),
        "evaluate": ("model.keras", None, "run_evaluate", "Could not locate class"),
    }
    processes = {}
    for case, (name, content, program, _) in cases.items():
        workdir = tmp_path / case
        shutil.copytree(finished, workdir)
        if content is None:
            _rewrite_model_config(workdir / name, lambda config: config.replace(
                "InformationDropout", "NoSuchDropout"))
        else:
            (workdir / name).write_text(content)
        processes[case] = (_snapshot(workdir), _cli(
            f"--config={TESTING}", f"--workdir={workdir}", "--config.num_epochs=3",
            program=program))
    for case, (before, process) in processes.items():
        code, _, stderr = _finish(process)
        name, _, _, expected = cases[case]
        assert code == 1, stderr[-3000:]
        line = _one_error_line(stderr)
        assert line.startswith("error: ") and expected in line and name in line
        assert _snapshot(tmp_path / case) == before


# 11: the evaluation command -------------------------------------------------------------

def test_evaluate_refuses_another_config_a_bad_probe_and_a_truncated_model(finished_copy,
                                                                         testing_config):
    with pytest.raises(WorkdirError, match=r"these fields differ: model.width \(32 here, 64 now\)"):
        evaluate_lib.evaluate(testing_config(**{"model.width": 64}), str(finished_copy))
    # Evaluation settings may change.
    results = evaluate_lib.evaluate(testing_config(eval_num_samples=3), str(finished_copy))
    assert 0 <= results["noisy_error"] <= 1

    # A nuisance probe the trained model cannot feed is refused before any
    # metric is computed, and nothing is written.
    before = _snapshot(finished_copy)
    with mock.patch.object(evaluate_lib, "test_metrics") as test_metrics, \
            pytest.raises(config_lib.ConfigError,
                          match=r"^invalid config field `nuisance.representation_layer`: the "
                                r"model has no layer 'head'; its layers are \[.*'dense1'"):
        evaluate_lib.evaluate(testing_config(**{"nuisance.enabled": True,
                                                "nuisance.representation_layer": "head"}),
                              str(finished_copy))
    test_metrics.assert_not_called()
    assert _snapshot(finished_copy) == before

    model = finished_copy / "model.keras"
    model.write_bytes(model.read_bytes()[:2000])
    with pytest.raises(WorkdirError, match=f"cannot read the model {model}: .*truncated"):
        evaluate_lib.evaluate(testing_config(), str(finished_copy))


# 8: the command line says one line -------------------------------------------------------

@pytest.mark.slow
def test_command_line_errors_are_one_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def get_config(:\n")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    workdir = tmp_path / "run"
    cases = [
        ([f"--config={tmp_path / 'missing.py'}"], 2, f"error: config file {tmp_path / 'missing.py'} "
                                                     "does not exist"),
        ([f"--config={broken}"], 2, f"error: config file {broken} failed to load (line 1): "
                                    "SyntaxError"),
        ([f"--config={TESTING}", "--config.nonexistent=1"], 2,
         "error: unknown config field `nonexistent`. Did you mean `experiment`? The fields of "
         "the config are: batch_size, checkpoint_every_epochs,"),
        # A packaged config by name, its overrides checked as a file's are.
        (["--config=testing", "--config.modle.width=3"], 2,
         "error: unknown config field `modle.width`. Did you mean `model.width`?"),
        (["--config", "mnist_mpl"], 2,
         "error: unknown config `mnist_mpl`. Did you mean `mnist_mlp`? The packaged configs "
         "are: cifar_all_cnn32, cluttered_all_cnn96,"),
        ([f"--config={TESTING}", "--config.batch_size=0"], 2,
         "error: invalid config field `batch_size`: expected an integer in [1, 65536], "
         "received 0."),
        ([f"--config={TESTING}", "--config.num_epochs=many"], 2,
         "error: flag --config.num_epochs=many: invalid literal for int()"),
        # A tuple field from the command line, checked as the file's own.
        ([f"--config={TESTING}", "--config.information_plane.estimators=('dense1:mne',)"], 2,
         "error: invalid config field `information_plane.estimators`: expected a tuple of "
         "\"layer:estimator\" strings"),
        ([f"--config={TESTING}", f"--workdir={blocker / 'run'}"], 1,
         f"error: workdir {blocker / 'run'} is not writable"),
    ]
    # A later --workdir overrides the default one.
    processes = [_cli(f"--workdir={workdir}", *arguments) for arguments, _, _ in cases]
    for process, (_, status, start) in zip(processes, cases):
        code, _, stderr = _finish(process)
        assert code == status, stderr[-3000:]
        assert _one_error_line(stderr).startswith(start)
    assert not workdir.exists()


@pytest.mark.slow
def test_an_out_of_range_seed_or_width_is_a_config_error_exit_2(tmp_path):
    # Before, numpy refused the seed (exit 1) and TensorFlow ran out of
    # memory building the 10^8-unit layers.
    workdir = tmp_path / "run"
    cases = [
        ("--config.seed=18446744073709551616",
         "error: invalid config field `seed`: expected an integer in [0, 4294967295], received "
         "18446744073709551616."),
        ("--config.model.width=100000000",
         "error: invalid config field `model.width`: expected an integer in [1, 8192], received "
         "100000000."),
    ]
    processes = [_cli(f"--config={TESTING}", override, f"--workdir={workdir}")
                 for override, _ in cases]
    for process, (_, line) in zip(processes, cases):
        code, _, stderr = _finish(process)
        assert code == 2, stderr[-3000:]
        assert _one_error_line(stderr) == line
    assert not workdir.exists()
