"""What the reports read from a finished run's folder.

A run's workdir holds what its trainer wrote: config.json, metrics.json,
training_log.csv, model.keras, TensorBoard event files. The reports read
them here and only here, through `workdir_files` (which checks every value
before use) and the trainer's own readers (`evaluate.load_model`,
`experiment.load_split`), so that a damaged or hand-edited file is one
`WorkdirError` line naming it and `FIX`, and a report sees the data and
model exactly as the trainer had them.
"""

import os

import ml_collections
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from infodropout_tf import workdir_files
from infodropout_tf.training import experiment
from infodropout_tf.training.evaluate import load_model
from infodropout_tf.workdir_files import NUMBER
from infodropout_tf.workdir_files import OBJECT
from infodropout_tf.workdir_files import TEXT
from infodropout_tf.workdir_files import integer

# What to do about a run's file that cannot be read or holds values out of
# range: the report reads only what the trainer wrote, so the fix is to
# restore or retrain it.
FIX = ("Restore it from a copy, or delete the run's workdir and rerun `infodropout-reproduce "
        "run` to train it again.")


def read_json(path, fields=None):
    """The JSON object in `path`, with `fields` ({name: (check, expected)},
    `workdir_files.check_fields`) checked.

    Raises:
        WorkdirError: the file is not such an object; the message names it
            and the field.
        OSError: it cannot be read.
    """
    document = workdir_files.read_json(path, FIX)
    workdir_files.check_fields(path, document, fields or {}, FIX)
    return document


def read_training_log(workdir, columns=()):
    """`workdir/training_log.csv` as {column: float array}, one entry per epoch.

    A rerun after a kill may repeat epochs (and, with older Keras, the
    header); the last row of each epoch is kept, and a last line cut short
    by a kill is left out (the run may still be training).

    Args:
        workdir: The run's folder.
        columns: Columns the log must have (once it has a header).

    Raises:
        WorkdirError: the log is not a CSV log of numbers with an `epoch`
            column and `columns`; the message names the file and line.
    """
    path = os.path.join(workdir, "training_log.csv")
    names, rows, _ = workdir_files.read_csv(path, FIX, numeric=True)
    names = names or []  # none in an empty file
    missing = [column for column in columns if names and column not in names]
    if missing:
        raise workdir_files.WorkdirError(f"{path} has no column {', '.join(missing)}. {FIX}")
    by_epoch = {int(row["epoch"]): row for row in rows}
    epochs = sorted(by_epoch)
    return {name: np.array([by_epoch[e][name] for e in epochs]) for name in names}


def metrics(workdir, *names):
    """metrics.json of a run, whose `names` must be numbers."""
    return read_json(os.path.join(workdir, "metrics.json"), dict.fromkeys(names, NUMBER))


def config(workdir, fields):
    """config.json of a run, whose `fields` must pass their checks."""
    return read_json(os.path.join(workdir, "config.json"), fields)


def model(workdir):
    """The run's `model.keras` (one `WorkdirError` line if unreadable)."""
    return load_model(os.path.join(workdir, "model.keras"))


def by_value(finished, field):
    """[(value of override `field`, workdir)] of the finished runs, sorted by value."""
    return sorted(((run.overrides[field], workdir) for run, workdir in finished),
                  key=lambda pair: pair[0])


def test_batches(workdir, split, batch_size=500, as_dict=False):
    """Numpy batches of `split` of the dataset a run trained on, as its trainer read it.

    They come from the trainer's own `experiment.load_split` on the run's
    config.json, not from a second reading of its dataset fields: that way
    a report sees the labels the run was trained on (`dataset.label_key`,
    e.g. an occlusion run's nuisance labels) and its binarisation
    (`dataset.binarization`, seeded by `seed`), and any change to how the
    trainer reads its data reaches the reports too.
    """
    path = os.path.join(workdir, "config.json")
    # The fields `load_split` reads, checked so that a damaged file is one line.
    stored = config(workdir, {"dataset.name": TEXT, "dataset.data_dir": TEXT,
                               "dataset.label_key": TEXT, "dataset.binarization": TEXT,
                               "dataset.options": OBJECT, "seed": integer(0),
                               "strategy": TEXT})
    try:
        batches = experiment.load_split(ml_collections.ConfigDict(stored), split, batch_size,
                                        training=False, as_dict=as_dict)
    except ValueError as error:  # every argument but the split comes from config.json
        raise workdir_files.WorkdirError(f"{path}: {error} {FIX}") from error
    return list(tfds.as_numpy(batches))


def scalar_history(log_dir, tag):
    """{step: value} of the scalar `tag` in the TensorBoard event files of `log_dir`.

    A step written again (an epoch repeated after a resume) keeps its last
    value; a last record cut short by a kill is skipped.

    Raises:
        WorkdirError: `log_dir` is missing, or an event file is damaged
            before its end (`workdir_files.read_events`).
    """
    if not os.path.isdir(log_dir):
        raise workdir_files.WorkdirError(f"{log_dir} is missing: the run wrote no summaries "
                                         f"there. {FIX}")
    history = {}
    # The files in the order written, so a step written again keeps its last value.
    for path in workdir_files.event_files(log_dir):
        events, _ = workdir_files.read_events(path, FIX)
        for _, event in events:
            for value in event.summary.value:
                if value.tag == tag:
                    history[event.step] = float(tf.make_ndarray(value.tensor))
    return dict(sorted(history.items()))
