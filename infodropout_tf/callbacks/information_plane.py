"""The information plane of chosen layers over training, as a Keras callback.

Every few epochs, each followed layer's point (I(X; Z), I(Z; Y)) on a
training and a test subset (`information/plane.py`; Adilova, Geiger &
Fischer, ICLR 2023, for dropout networks), written as rows, TensorBoard
scalars and a plot (`information/plane_plot.py`).
"""

import os

import keras
import tensorflow as tf

from infodropout_tf import _validation
from infodropout_tf.information import plane
from infodropout_tf.information.plane_plot import plot_information_plane


class InformationPlane(keras.callbacks.Callback):
    """Records the information plane of chosen layers every `every` epochs.

    Writes, in `workdir`, `information_plane.json` and
    `information_plane.csv` (one row per epoch, split, layer and estimator;
    `information.plane.FIELDS`), TensorBoard scalars under
    `workdir/tensorboard/information_plane`, and `information_plane.png`
    (redrawn at every estimate). Files are replaced atomically: an
    interrupted run never leaves them half-written.

    Args:
        workdir: Output folder (created if missing).
        layer_names: Names of the layers to follow (noise layers or any
            other, e.g. a `Dense`).
        train_data, test_data: Small `(x, y)` datasets to estimate on.
        every: Integer > 0, epochs between estimates (epoch 0 is estimated
            before training starts).
        resume: Boolean. If True and `workdir` holds
            `information_plane.json`, its rows are kept and training is
            taken to continue them (no new epoch-0 estimate); the trainer
            removes rows of unfinished epochs before it resumes.
        estimators: Dict {layer name: estimator name} for some of
            `layer_names` (`"closed_form_kl"`, `"gaussian_mixture"`,
            `"binning"`, `"mine"`), or None: the others by layer type
            (`information.plane.default_estimator`). Checked against the
            model when training begins, before any estimate.
        **estimator_options: Passed to
            `information.estimate_information_plane` (`num_bins`,
            `mine_steps`, `seed`, ...).

    Raises:
        ValueError: a bad `every` or `estimators`, before `workdir` is
            created.

    Example:

    ```python
    plane = InformationPlane("/tmp/plane", ["dense", "dropout"], train, test,
                             estimators={"dropout": "mine"})
    model.fit(x, y, epochs=5, callbacks=[plane])
    ```
    """

    def __init__(self, workdir, layer_names, train_data, test_data, every=1, resume=False,
                 estimators=None, **estimator_options):
        super().__init__()
        every = _validation.positive_int("every", every)
        layer_names = list(layer_names)
        estimators = plane.check_estimators(estimators, layer_names)
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.layer_names = layer_names
        self.estimators = estimators
        self.datasets = {"train": train_data, "test": test_data}
        self.every = every
        self.estimator_options = estimator_options
        self.resume = resume
        self.rows = []
        self._writer = None

    def on_train_begin(self, logs=None):
        # Unknown layers (Keras' message) and estimators that do not hold
        # for their layer fail here, before any estimate.
        plane.choose_estimators(self.model, self.layer_names, self.estimators)
        self._writer = tf.summary.create_file_writer(
            os.path.join(self.workdir, "tensorboard", "information_plane"))
        json_path = os.path.join(self.workdir, plane.JSON_FILE)
        if self.resume and os.path.exists(json_path):
            self.rows = plane.read_rows(json_path, "Restore it from a copy, or pass resume=False "
                                                   "to record the plane anew.")
        if not self.rows:
            self._record(0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record(epoch + 1)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()

    def _record(self, epoch):
        new_rows = []
        for split, dataset in self.datasets.items():
            for row in plane.estimate_information_plane(self.model, self.layer_names, dataset,
                                                        estimators=self.estimators,
                                                        **self.estimator_options):
                new_rows.append({"epoch": epoch, "split": split, **row})
        self.rows.extend(new_rows)
        with self._writer.as_default(step=epoch):
            for row in new_rows:
                prefix = f"information_plane/{row['layer']}/{row['estimator']}/{row['split']}"
                tf.summary.scalar(f"{prefix}/I(X;Z)", row["mutual_information_x"])
                tf.summary.scalar(f"{prefix}/I(Z;Y)", row["mutual_information_y"])
        self._writer.flush()
        plane.write_rows(self.workdir, self.rows)
        plot_information_plane(self.rows, os.path.join(self.workdir, "information_plane.png"))
