"""The resume state of a run: weights, optimizer and epoch, never half-written.

Keras's `BackupAndRestore` overwrites `latest.weights.h5` in place, so a
kill during the write leaves no resumable state. Here each epoch's state
goes to its own file, written aside and renamed (`atomic_files`), and
`training_metadata.json`, which names that file and the epoch, is replaced
only afterwards: at any instant the metadata names a complete file. The
previous epoch's file is deleted last.

If the backup is unreadable all the same (a disk error, a file edited by
hand), training resumes from the newest readable
`checkpoints/epoch_NNNN.keras`, which also holds the optimizer.
"""

import json
import os
import re
import zipfile

from absl import logging

from infodropout_tf import atomic_files
from infodropout_tf.training.workdir import WorkdirError

_STATE_PATTERN = re.compile(r"^epoch_\d{4,}\.weights\.h5$")


class Backup:
    """Saves and restores a run's state in `directory`.

    Args:
        directory: The backup folder, e.g. `workdir/backup`.
        workdir: The run's `Workdir`, whose epoch checkpoints are the
            fallback when the backup cannot be read.
    """

    def __init__(self, directory, workdir):
        self.directory = directory
        self.workdir = workdir
        self.metadata_path = os.path.join(directory, "training_metadata.json")

    def save(self, model, epoch):
        """Commits the state after `epoch` completed epochs."""
        name = f"epoch_{epoch:04d}.weights.h5"
        atomic_files.write_with(os.path.join(self.directory, name), model.save_weights)
        atomic_files.write_json(self.metadata_path, {"epoch": epoch, "weights": name})
        self._remove_states_other_than(name)

    def _remove_states_other_than(self, name):
        for old in os.listdir(self.directory):
            if _STATE_PATTERN.match(old) and old != name:
                os.remove(os.path.join(self.directory, old))

    def _metadata(self):
        """(epoch, weights file name) from training_metadata.json."""
        with open(self.metadata_path) as f:
            metadata = json.load(f)
        return int(metadata["epoch"]), str(metadata["weights"])

    def saved_epoch(self):
        """The epoch the backup holds (0 without a readable one), without loading."""
        try:
            return self._metadata()[0]
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def restore(self, model):
        """Loads the newest complete state into `model`; returns its epoch.

        Returns 0, leaving `model` as it is, when the run has no state yet.

        Raises:
            WorkdirError: a backup exists but neither it nor any epoch
                checkpoint can be read.
        """
        checkpoints = self.workdir.epoch_checkpoints()
        if os.path.exists(self.metadata_path):
            try:
                epoch, name = self._metadata()
                model.load_weights(os.path.join(self.directory, name))
                self._remove_states_other_than(name)  # a kill may have left one
                return epoch
            except (OSError, ValueError, KeyError, TypeError) as error:
                problem = f"the backup in {self.directory} is unreadable ({first_line(error)})"
        elif checkpoints:
            # Only a kill between the first checkpoint and the first backup
            # leaves checkpoints without a backup.
            problem = f"{self.metadata_path} is missing"
        else:
            return 0
        for epoch, path in sorted(checkpoints.items(), reverse=True):
            try:
                check_keras_file(path)
                model.load_weights(path)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
                logging.warning("Skipping %s: %s", path, first_line(error))
                continue
            logging.warning("%s; resuming from %s (epoch %d) instead.", problem, path, epoch)
            return epoch
        raise WorkdirError(
            f"{problem}, and no readable checkpoints/epoch_*.keras remains to resume from. "
            f"Delete {self.workdir.path} to start the run over, or use another --workdir.")


def check_keras_file(path):
    """Raises ValueError if `path` is not a whole zip archive.

    Keras reports a truncated `.keras` file as "File not found".
    """
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a complete .keras file (truncated?)")


def first_line(error):
    """The first line of an error's message (or its type), for one-line reports."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
