"""The trainer's callbacks, in the order an epoch's end runs them.

`trainer._callbacks` lists them in that order: first the guard that refuses
a non-finite state, then the epoch's outputs (logs, summaries,
checkpoint), and the backup last. The backup is the commit: an epoch counts
as done only once everything it writes is on disk (see `workdir.py`).
"""

import math
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from infodropout_tf import atomic_files
from infodropout_tf.training.workdir import checkpoint_name


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss or weight."""


class LearningRateLogger(keras.callbacks.Callback):
    """Adds `learning_rate` to the epoch logs (TensorBoard, CSV, progress)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            rate = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(rate))


class FiniteStateGuard(keras.callbacks.Callback):
    """Stops training before a non-finite state can be saved.

    Checks the loss after every training batch, and at the end of every
    epoch, before anything of that epoch is written, the training and
    validation losses and every weight and optimizer variable. The error
    names the last epoch whose state the workdir holds.

    Args:
        workdir: The run's folder, named in the error.
    """

    def __init__(self, workdir):
        super().__init__()
        self.workdir = workdir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _stop(self, what):
        # Epochs before this one were committed (the guard stops at the
        # first bad one), so the backup holds `self.epoch` epochs.
        checkpoint = os.path.join(self.workdir, "checkpoints", checkpoint_name(self.epoch))
        if self.epoch == 0:
            saved = "no epoch completed, so nothing was saved"
        else:
            also = (f" and checkpoints/{checkpoint_name(self.epoch)}"
                    if os.path.exists(checkpoint) else "")
            saved = (f"{os.path.join(self.workdir, 'backup')}{also} keep the state after "
                     f"epoch {self.epoch}, the last finite one")
        raise NonFiniteLossError(
            f"{what} at epoch {self.epoch + 1}; training stopped and {saved}. Lower "
            "optimizer.learning_rate or model.beta and train again in a new --workdir.")

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self._stop(f"the loss became {loss} at step {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        for key in ("loss", "val_loss"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(value):
                self._stop(f"the {'validation ' if key == 'val_loss' else ''}loss became {value}")
        for variable in list(self.model.weights) + list(self.model.optimizer.variables):
            value = keras.ops.convert_to_numpy(variable)
            if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
                self._stop(f"the variable {variable.path} became non-finite")


class EpochScalars(keras.callbacks.Callback):
    """Epoch logs as TensorBoard scalars under `train/` and `validation/`.

    The step is the epoch index, counted from 0, as
    `keras.callbacks.TensorBoard` and `AnalysisSummaries` step theirs (and
    as `training_log.csv` numbers its rows). The events are flushed before
    the epoch's backup, so a resumed run neither loses nor repeats an epoch.
    """

    def __init__(self, directory):
        super().__init__()
        self.directory = directory
        self._writers = {}

    def _writer(self, split):
        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(
                os.path.join(self.directory, split))
        return self._writers[split]

    def on_epoch_end(self, epoch, logs=None):
        for split, prefix in (("train", ""), ("validation", "val_")):
            values = {key[len(prefix):]: value for key, value in (logs or {}).items()
                      if key.startswith(prefix) and (prefix or not key.startswith("val_"))}
            if not values:
                continue
            with self._writer(split).as_default(step=epoch):
                for name, value in sorted(values.items()):
                    tf.summary.scalar(f"epoch_{name}", value)
            self._writer(split).flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves `checkpoints/epoch_NNNN.keras` every `every` epochs, atomically."""

    def __init__(self, directory, every):
        super().__init__()
        self.directory = directory
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        if self.every > 0 and (epoch + 1) % self.every == 0:
            path = os.path.join(self.directory, checkpoint_name(epoch + 1))
            atomic_files.write_with(path, self.model.save)


class BackupCallback(keras.callbacks.Callback):
    """Commits each epoch to a `backup.Backup`; must run after every output."""

    def __init__(self, backup):
        super().__init__()
        self.backup = backup

    def on_epoch_end(self, epoch, logs=None):
        self.backup.save(self.model, epoch + 1)


class ProgressLogger(keras.callbacks.Callback):
    """One log line per epoch with the metrics, steps per second and ETA."""

    def __init__(self, num_epochs, steps_per_epoch):
        super().__init__()
        self.num_epochs = num_epochs
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        eta = seconds * (self.num_epochs - epoch - 1)
        metrics = " ".join(f"{k}={v:.4g}" for k, v in sorted((logs or {}).items()))
        logging.info("epoch %d/%d done: %s (%.1f steps/s, ETA %s)", epoch + 1, self.num_epochs,
                     metrics, self.steps_per_epoch / seconds,
                     time.strftime("%H:%M:%S", time.gmtime(eta)))
