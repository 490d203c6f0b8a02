"""The resume state of a run: weights, optimizer and epoch, never half-written.

Keras's `BackupAndRestore` overwrites `latest.weights.h5` in place, so a
kill during the write leaves no resumable state. Here each epoch's state
goes to its own file, written aside and renamed (`atomic_files`), and
`training_metadata.json`, which names that file and the epoch, is replaced
only afterwards: at any instant the metadata names a complete file. The
previous epoch's file is deleted last.

If the backup is unreadable all the same (a disk error: metadata that is
not JSON, a state file that does not load), training resumes from the
newest readable `checkpoints/epoch_NNNN.keras`, which also holds the
optimizer. Metadata that reads but holds anything `save` never writes (an
epoch below 0, a state file of another epoch or outside `backup/`) was
edited, and resuming from it would remove finished epochs' outputs, so it
is refused with a `WorkdirError` that says how to repair it.
"""

import os
import re
import zipfile

from absl import logging

from infodropout_tf import atomic_files
from infodropout_tf import workdir_files
from infodropout_tf.workdir_files import UnreadableFileError
from infodropout_tf.workdir_files import WorkdirError

# ASCII digits, the whole name: a plain file of `backup/`.
_STATE_PATTERN = re.compile(r"epoch_([0-9]{4,})\.weights\.h5", re.ASCII)


def state_name(epoch):
    """The file name of the state after `epoch` completed epochs."""
    return f"epoch_{epoch:04d}.weights.h5"


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
        name = state_name(epoch)
        atomic_files.write_with(os.path.join(self.directory, name), model.save_weights)
        atomic_files.write_json(self.metadata_path, {"epoch": epoch, "weights": name})
        self._remove_states_other_than(name)

    def _states(self):
        """{epoch: file name} of the state files in the backup folder."""
        states = {}
        for name in os.listdir(self.directory):
            match = _STATE_PATTERN.fullmatch(name)
            if match:
                states[int(match.group(1))] = name
        return states

    def _remove_states_other_than(self, name):
        for old in self._states().values():
            if old != name:
                os.remove(os.path.join(self.directory, old))

    def _repair(self):
        """What to do about metadata `save` never wrote, the last sentence of the error."""
        states = self._states() if os.path.isdir(self.directory) else {}
        if states:
            epoch = max(states)
            restore = (f'restore it to {{"epoch": {epoch}, "weights": "{states[epoch]}"}} '
                       f"(the newest state in {self.directory})")
        else:
            restore = "restore it from a copy"
        return (f"It names the last completed epoch and its state file: {restore}, or delete it "
                "to resume from the newest readable checkpoints/epoch_NNNN.keras (the epochs "
                "after that checkpoint are then trained again).")

    def _metadata(self):
        """(epoch, state file name) from training_metadata.json.

        Raises:
            OSError: it cannot be read.
            UnreadableFileError: it is not JSON.
            WorkdirError: it holds anything but an epoch >= 0 and the name
                of that epoch's state file.
        """
        try:
            metadata = workdir_files.read_json(self.metadata_path, fix="")
            workdir_files.check_fields(self.metadata_path, metadata,
                                       {"epoch": workdir_files.integer(0),
                                        "weights": workdir_files.TEXT}, fix="")
            epoch, name = metadata["epoch"], metadata["weights"]
            # Which also keeps the name a plain file of `backup/`.
            if name != state_name(epoch):
                raise WorkdirError(
                    f"{self.metadata_path} field `weights` is {name!r}, where the state file "
                    f"of epoch {epoch}, {state_name(epoch)!r}, is expected.")
        except UnreadableFileError:
            raise  # damaged: `restore` falls back to the checkpoints
        except WorkdirError as error:
            raise WorkdirError(f"{error} {self._repair()}") from error
        return epoch, name

    def saved_epoch(self):
        """The epoch the backup holds (0 without a readable one), without loading.

        Raises:
            WorkdirError: the metadata holds values `save` never writes.
        """
        try:
            return self._metadata()[0]
        except (OSError, UnreadableFileError):
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
                if isinstance(error, WorkdirError) and not isinstance(error, UnreadableFileError):
                    # Values `save` never writes: resuming from a guess could
                    # remove finished epochs' outputs, so the user repairs it.
                    raise
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
