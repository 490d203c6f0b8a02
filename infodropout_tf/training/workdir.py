"""The workdir of one experiment: who may write it, and what it holds.

A workdir belongs to one config: a run goes on in a workdir only if it is
new or holds the same experiment (`num_epochs` may change, to extend it);
any other config is refused with the fields that differ, before any output
is written (`check_same_experiment`). A run holds an exclusive lock on its
workdir (`lock`, which creates the folder and `.lock`), so two runs never
write the same one.

Epochs are committed in order: an epoch's outputs (CSV row, TensorBoard
events, checkpoint, analysis files) are written first and the backup last
(`backup.py`). So the backup's epoch is the last complete one, and anything
recorded for a later epoch comes from an epoch that did not finish:
`Workdir.discard_after` removes it before training resumes, so a resumed
run logs each epoch exactly once.
"""

import csv
import fcntl
import json
import os
import re
import tempfile

import tensorflow as tf
from absl import logging

from infodropout_tf import atomic_files
from infodropout_tf.training import config as config_lib

# Fields that may change between the runs of one experiment: the number of
# epochs (to train longer) and where data and TPUs are found.
RESUMABLE_CHANGES = ("num_epochs", "dataset.data_dir", "tpu")

CHECKPOINT_PATTERN = re.compile(r"^epoch_(\d{4,})\.keras$")


class WorkdirError(ValueError):
    """The workdir cannot be used for this run; nothing was written."""


def checkpoint_name(epoch):
    return f"epoch_{epoch:04d}.keras"


class Workdir:
    """Paths and bookkeeping of a run's output folder.

    Args:
        path: The folder (created by `claim` if missing).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._lock = None

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    @property
    def config_path(self):
        return self.join("config.json")

    @property
    def checkpoints(self):
        return self.join("checkpoints")

    @property
    def metrics_path(self):
        return self.join("metrics.json")

    def stored_config(self):
        """The config of the run already here, or None."""
        if not os.path.exists(self.config_path):
            return None
        try:
            with open(self.config_path) as f:
                return json.load(f)
        except (OSError, ValueError) as error:
            raise WorkdirError(
                f"{self.config_path} is unreadable ({error}); this workdir's run cannot be "
                "identified. Use another --workdir, or delete this one to start over.") from error

    def check_same_experiment(self, config, ignore):
        """Raises WorkdirError listing the fields that differ from the stored config."""
        stored = self.stored_config()
        if stored is None:
            return
        different = config_lib.differences(stored, config, ignore=ignore)
        if different:
            shown = ", ".join(f"{field} ({_value(stored, field)} here, "
                              f"{_value(config, field)} now)" for field in different[:6])
            more = f" and {len(different) - 6} more" if len(different) > 6 else ""
            raise WorkdirError(
                f"workdir {self.path} holds a run of another config; these fields differ: "
                f"{shown}{more}. "
                "Rerun with the stored config (config.json) to resume it, or use another "
                "--workdir.")

    def lock(self):
        """Creates the folder and takes it for this process.

        Raises:
            WorkdirError: the folder is not writable, or another run holds it.
        """
        try:
            os.makedirs(self.path, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.path,
                                                prefix=".write_test" + atomic_files.MARK)
            probe.close()
            self._lock = open(self.join(".lock"), "w")
        except OSError as error:
            raise WorkdirError(f"workdir {self.path} is not writable ({error.strerror}). "
                               "Choose a writable --workdir.") from error
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            self.release()
            raise WorkdirError(f"workdir {self.path} is in use by another run; wait for it to "
                               "end or use another --workdir.") from error

    def write_config(self, config):
        """Records `config` as this workdir's (a longer `num_epochs` extends it)."""
        stored = self.stored_config()
        if stored is not None:
            for field in config_lib.differences(stored, config):
                logging.info("%s changes from %s to %s in %s.", field, _value(stored, field),
                             _value(config, field), self.path)
        if stored != json.loads(config.to_json()):
            atomic_files.write_text(self.config_path, config.to_json(indent=1))

    def release(self):
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def epoch_checkpoints(self):
        """{epoch: path} of the `checkpoints/epoch_NNNN.keras` files."""
        if not os.path.isdir(self.checkpoints):
            return {}
        found = {}
        for name in os.listdir(self.checkpoints):
            match = CHECKPOINT_PATTERN.match(name)
            if match:
                found[int(match.group(1))] = os.path.join(self.checkpoints, name)
        return found

    def discard_after(self, epoch):
        """Removes what epochs after `epoch` (the last complete one) left.

        Interrupted writes (`*.incomplete*`), checkpoints, CSV rows,
        TensorBoard events and information-plane rows of later epochs.
        """
        # Other workers' folders are theirs to clean: they may be writing.
        atomic_files.remove_temporaries(self.path, skip=("workers",))
        for number, path in self.epoch_checkpoints().items():
            if number > epoch:
                os.remove(path)
        _truncate_csv(self.join("training_log.csv"), lambda row: int(row["epoch"]) < epoch)
        _truncate_plane(self.join("information_plane.json"), epoch)
        _truncate_csv(self.join("information_plane.csv"), lambda row: int(row["epoch"]) <= epoch)
        tensorboard = self.join("tensorboard")
        if os.path.isdir(tensorboard):
            for root, _, files in os.walk(tensorboard):
                # Epoch summaries are stepped by epoch index, as Keras's
                # TensorBoard callback steps them, so step `epoch` is the
                # first unfinished epoch's; the information plane's steps
                # count completed epochs (0: before training).
                plane = os.path.relpath(root, tensorboard).split(os.sep)[0] == "information_plane"
                for name in files:
                    if name.startswith("events.out.tfevents"):
                        _truncate_events(os.path.join(root, name), epoch + 1 if plane else epoch)


def _value(config, field):
    return config_lib.flatten(config).get(field, "<absent>")


def _truncate_csv(path, keep):
    """Keeps the header and the complete rows for which `keep(row)` holds.

    A row cut short by a kill, or without a readable epoch, is dropped.
    """
    if not os.path.exists(path):
        return
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        fields = reader.fieldnames

    def kept(row):
        try:
            return None not in row.values() and None not in row and keep(row)
        except (KeyError, ValueError):
            return False

    if fields is None:
        os.remove(path)
        return
    kept_rows = [row for row in rows if kept(row)]
    if len(kept_rows) == len(rows):
        return
    with atomic_files.open_for_writing(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)  # Keras's CSVLogger dialect
        writer.writeheader()
        writer.writerows(kept_rows)


def _truncate_plane(path, epoch):
    if not os.path.exists(path):
        return
    try:
        with open(path) as f:
            rows = json.load(f)
    except ValueError:
        rows = []  # a rerun records it again
    atomic_files.write_json(path, [row for row in rows if row.get("epoch", 0) <= epoch])


def _truncate_events(path, first_unfinished_step):
    """Drops summaries with step >= `first_unfinished_step` (those of
    unfinished epochs), and a record cut short by a kill."""
    kept, changed = [], False
    try:
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            if event.step >= first_unfinished_step and event.WhichOneof("what") == "summary":
                changed = True
            else:
                kept.append(record.numpy())
    except (tf.errors.DataLossError, tf.errors.OutOfRangeError):
        changed = True
    if not changed:
        return

    def write(temporary):
        with tf.io.TFRecordWriter(temporary) as writer:
            for record in kept:
                writer.write(record)

    atomic_files.write_with(path, write)
