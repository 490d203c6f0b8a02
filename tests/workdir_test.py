"""`training/workdir.py` on its own (runs that resume after faults:
faults_test.py)."""

import os

import tensorflow as tf

from infodropout_tf.training.workdir import Workdir


def _write_scalars(directory, steps):
    writer = tf.summary.create_file_writer(str(directory))
    with writer.as_default():
        for step in steps:
            tf.summary.scalar("value", float(step), step=step)
    writer.close()


def _steps(directory):
    (name,) = os.listdir(directory)
    return [event.step for event in tf.compat.v1.train.summary_iterator(str(directory / name))
            if event.summary.value]


def test_discard_after_keeps_the_summaries_of_completed_epochs(tmp_path):
    # Killed during the fourth epoch (index 3) after its analysis was
    # written, with two epochs committed: epoch summaries are stepped by
    # epoch index, the information plane by epochs completed (0: before
    # training), so the plane keeps one step more.
    tensorboard = tmp_path / "tensorboard"
    for split in ("train", "validation", "analysis"):
        _write_scalars(tensorboard / split, [0, 1, 2, 3])
    _write_scalars(tensorboard / "information_plane", [0, 1, 2, 3, 4])

    Workdir(str(tmp_path)).discard_after(2)

    for split in ("train", "validation", "analysis"):
        assert _steps(tensorboard / split) == [0, 1]
    assert _steps(tensorboard / "information_plane") == [0, 1, 2]
