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

Every file read back from a workdir is parsed and checked before anything
acts on it (`workdir_files`): a hand-edited or damaged file is one
`WorkdirError` naming it and the fix, and never a reason to delete what
finished epochs wrote. Only `checkpoints/epoch_NNNN.keras` files are taken
for checkpoints; no name read from a file is ever joined to a path.
"""

import csv
import fcntl
import json
import os
import re
import tempfile

import tensorflow as tf
from absl import logging

from infodropout_tf import _validation
from infodropout_tf import atomic_files
from infodropout_tf import workdir_files
from infodropout_tf.information.plane import read_rows as read_plane_rows
from infodropout_tf.training import config_diff
from infodropout_tf.workdir_files import WorkdirError

# Fields that may change between the runs of one experiment: the number of
# epochs (to train longer) and where data and TPUs are found.
RESUMABLE_CHANGES = ("num_epochs", "dataset.data_dir", "tpu")

# ASCII digits only, matched in full: `\d` and `$` would also take other
# scripts' digits and a trailing newline.
CHECKPOINT_PATTERN = re.compile(r"epoch_([0-9]{4,})\.keras", re.ASCII)

# What to do about a damaged log of the run: the run goes on only from an
# intact one.
_FIX_LOG = ("Repair it (or restore it from a copy) and rerun; deleting it loses the log of the "
            "finished epochs.")
# A damaged event file: its finished epochs' summaries are in it.
_FIX_EVENTS = ("Restore it from a copy, or move it out of the workdir (TensorBoard then lacks "
               "its summaries) and rerun.")


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
        return workdir_files.read_json(
            self.config_path, "This workdir's run cannot be identified: use another "
            "--workdir, or delete this one to start over.")

    def check_same_experiment(self, config, ignore):
        """Raises WorkdirError listing the fields that differ from the stored config."""
        stored = self.stored_config()
        if stored is None:
            return
        different = config_diff.differences(stored, config, ignore=ignore)
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
            for field in config_diff.differences(stored, config):
                logging.info("%s changes from %s to %s in %s.", field, _value(stored, field),
                             _value(config, field), self.path)
        if stored != json.loads(config.to_json()):
            atomic_files.write_text(self.config_path, config.to_json(indent=1))

    def release(self):
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def epoch_checkpoints(self):
        """{epoch: path} of the `checkpoints/epoch_NNNN.keras` files.

        Only files directly in `checkpoints/` whose whole name has that
        form: these are all a run ever reads or deletes as checkpoints.
        """
        if not os.path.isdir(self.checkpoints):
            return {}
        found = {}
        with os.scandir(self.checkpoints) as entries:
            for entry in entries:
                match = CHECKPOINT_PATTERN.fullmatch(entry.name)
                if match and entry.is_file():
                    found[int(match.group(1))] = entry.path
        return found

    def discard_after(self, epoch):
        """Removes what epochs after `epoch` (the last complete one) left.

        Interrupted writes (`*.incomplete*`), checkpoints, CSV rows,
        TensorBoard events and information-plane rows of later epochs.
        Each file is read and checked before it is rewritten, so a damaged
        one stops the run with only unfinished epochs' outputs removed.

        Args:
            epoch: Integer >= 0, the epochs the run's backup holds.

        Raises:
            WorkdirError: a log cannot be read or holds values out of
                range; only what unfinished epochs left was removed.
        """
        epoch = _validation.non_negative_int("epoch", epoch)
        # Other workers' folders are theirs to clean: they may be writing.
        atomic_files.remove_temporaries(self.path, skip=("workers",))
        for number, path in self.epoch_checkpoints().items():
            if number > epoch:
                os.remove(path)
        # The training log's epochs are indices (from 0); the information
        # plane's count completed epochs (0: before training).
        _truncate_csv(self.join("training_log.csv"), lambda epochs: epochs < epoch)
        _truncate_csv(self.join("information_plane.csv"), lambda epochs: epochs <= epoch)
        plane_path = self.join("information_plane.json")
        if os.path.exists(plane_path):
            plane = read_plane_rows(plane_path, _FIX_LOG)
            kept = [row for row in plane if row["epoch"] <= epoch]
            if len(kept) < len(plane):
                atomic_files.write_json(plane_path, kept)
        tensorboard = self.join("tensorboard")
        for path in workdir_files.event_files(tensorboard, recursive=True):
            is_plane = os.path.relpath(path, tensorboard).split(os.sep)[0] == "information_plane"
            # Epoch summaries are stepped by epoch index, as Keras's
            # TensorBoard callback steps them, so step `epoch` is the first
            # unfinished epoch's; the information plane's steps count
            # completed epochs.
            _truncate_events(path, epoch + 1 if is_plane else epoch)


def _value(config, field):
    return config_diff.flatten(config).get(field, "<absent>")


def _truncate_csv(path, keep):
    """Keeps the header and the rows whose epoch `keep(epoch)` accepts.

    A last line cut short by a kill is dropped; a file without a header
    (created, but killed before its first row) is removed.
    """
    if not os.path.exists(path):
        return
    columns, rows, left_out = workdir_files.read_csv(path, _FIX_LOG)
    if columns is None:
        os.remove(path)
        return
    kept_rows = [row for row in rows if keep(int(row["epoch"]))]
    if len(kept_rows) == len(rows) and not left_out:
        return
    with atomic_files.open_for_writing(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)  # Keras's CSVLogger dialect
        writer.writeheader()
        writer.writerows(kept_rows)


def _truncate_events(path, first_unfinished_step):
    """Drops summaries with step >= `first_unfinished_step` (those of
    unfinished epochs), and a record cut short by a kill."""
    events, changed = workdir_files.read_events(path, _FIX_EVENTS)
    kept = []
    for record, event in events:
        if event.step >= first_unfinished_step and event.WhichOneof("what") == "summary":
            changed = True
        else:
            kept.append(record)
    if not changed:
        return

    def write(temporary):
        with tf.io.TFRecordWriter(temporary) as writer:
            for record in kept:
                writer.write(record)

    atomic_files.write_with(path, write)
