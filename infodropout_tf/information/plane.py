"""Information planes: (I(X; Z), I(Z; Y)) of chosen layers over training.

The estimator of I(X; Z) follows the layer's noise:

* `InformationDropout`: the closed-form bound E_x KL (`bounds.py`; relative
  to the prior's constant for the log-uniform prior, flagged in the rows);
* `GaussianDropout`: the Gaussian-mixture estimate of Adilova, Geiger &
  Fischer (`gaussian_dropout.py`) on the noise-free representation;
* any other layer: the binning estimate of the layer's noise-free output.

The binning estimate is also recorded for every layer, for comparison
plots. I(Z; Y) is bounded below by H(Y) minus the network's cross-entropy
with every noise layer sampling (Monte-Carlo dropout at inference), which by
data processing bounds every layer below the decoder.
"""

import csv
import json
import os

import keras
import matplotlib.colors
from matplotlib.figure import Figure
import numpy as np
import tensorflow as tf

from infodropout_tf import _validation
from infodropout_tf import atomic_files
from infodropout_tf import keras_utils
from infodropout_tf.information import bounds
from infodropout_tf.information.binning import binning_information
from infodropout_tf.information.gaussian_dropout import gaussian_dropout_information
from infodropout_tf.layers import GaussianDropout
from infodropout_tf.layers import InformationDropout

FIELDS = ("epoch", "split", "layer", "estimator", "mutual_information_x",
          "mutual_information_y", "relative_to_prior_constant")


def _features(model, layer_name, dataset):
    """Noise-free features entering `layer_name` and the labels."""
    to_inputs = keras_utils.layer_inputs_model(model, layer_name)
    features, labels = [], []
    for x, y in dataset:
        inputs = to_inputs(x, training=False)
        features.append(np.asarray(inputs[0] if isinstance(inputs, (list, tuple)) else inputs))
        labels.append(np.asarray(y).reshape(-1))
    return np.concatenate(features), np.concatenate(labels)


def estimate_information_plane(model, layer_names, dataset, num_samples=10, num_bins=30,
                               gaussian_components=1000, gaussian_samples=5000, seed=0):
    """Rows of (layer, estimator, I(X; Z), I(Z; Y)) for one dataset.

    Args:
        model: A trained classifier (a `Classifier` or a functional model).
        layer_names: Sequence of names of noise layers in its network.
        dataset: `(x, y)` batches, at least one example; keep it to a few
            thousand examples.
        num_samples: Integer > 0, noise samples for the I(Z; Y) bound.
        num_bins: Integer > 0, bins per unit of the binning estimate.
        gaussian_components, gaussian_samples: Mixture components (integer
            > 0 or None for all) and Monte-Carlo samples (integer > 0) of
            the Gaussian-dropout estimator.
        seed: Integer >= 0.

    Returns:
        A list of dicts with the keys of `FIELDS` but `epoch` and `split`.

    Raises:
        ValueError: for an argument out of its range, naming it, before any
            estimate is computed.
    """
    if isinstance(layer_names, str):  # would be read as one name per letter
        raise _validation.error("layer_names", "a sequence of layer names",
                                f"layer_names={layer_names!r}")
    _validation.positive_int("num_samples", num_samples)
    _validation.positive_int("num_bins", num_bins)
    _validation.positive_int("gaussian_components", gaussian_components, allow_none=True)
    _validation.positive_int("gaussian_samples", gaussian_samples)
    _validation.non_negative_int("seed", seed)
    network = keras_utils.network_of(model)
    label_bound = bounds.label_information_bound(model, dataset, num_samples)
    rows = []
    for name in layer_names:
        layer = network.get_layer(name)
        features, labels = _features(model, name, dataset)
        if isinstance(layer, InformationDropout):
            bound = bounds.information_dropout_bound(model, name, dataset)
            rows.append({"layer": name, "estimator": "closed_form_kl",
                         "mutual_information_x": bound["mutual_information_bound"],
                         "relative_to_prior_constant": bound["relative_to_prior_constant"]})
        elif isinstance(layer, GaussianDropout):
            estimate = gaussian_dropout_information(
                features, layer.stddev, num_components=gaussian_components,
                num_samples=gaussian_samples, seed=seed)
            rows.append({"layer": name, "estimator": "gaussian_mixture",
                         "mutual_information_x": estimate["mutual_information"],
                         "relative_to_prior_constant": False})
        binned = binning_information(features, labels, num_bins=num_bins)
        rows.append({"layer": name, "estimator": "binning",
                     "mutual_information_x": binned["mutual_information_x"],
                     "relative_to_prior_constant": False})
        rows[-1]["binned_mutual_information_y"] = binned["mutual_information_y"]
    for row in rows:
        row["mutual_information_y"] = label_bound
    return rows


def plot_information_plane(rows, path):
    """Draws one panel per layer and estimator, epochs coloured, as a PNG."""
    panels = sorted({(row["layer"], row["estimator"]) for row in rows})
    epochs = [row["epoch"] for row in rows]
    norm = matplotlib.colors.Normalize(min(epochs), max(max(epochs), min(epochs) + 1))
    # A Figure of its own, not pyplot: a notebook's backend stays as it is.
    figure = Figure(figsize=(4.5 * len(panels) + 1, 4), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)
    for axis, (layer, estimator) in zip(axes[0], panels):
        for split, marker in (("train", "o"), ("test", "^")):
            points = sorted((r["epoch"], r["mutual_information_x"], r["mutual_information_y"])
                            for r in rows if (r["layer"], r["estimator"], r["split"])
                            == (layer, estimator, split))
            if not points:
                continue
            epoch, x, y = map(np.asarray, zip(*points))
            axis.plot(x, y, color="0.7", linewidth=0.8, zorder=1)
            scatter = axis.scatter(x, y, c=epoch, cmap="viridis", norm=norm, marker=marker,
                                   label=split, zorder=2)
        relative = any(r["relative_to_prior_constant"] for r in rows
                       if (r["layer"], r["estimator"]) == (layer, estimator))
        axis.set_xlabel("I(X;Z) [nats]" + (" + const (log-uniform prior)" if relative else ""))
        axis.set_ylabel("I(Z;Y) lower bound [nats]")
        axis.set_title(f"{layer}: {estimator.replace('_', ' ')}")
        axis.legend(loc="lower right")
    figure.colorbar(scatter, ax=axes[0].tolist(), label="epoch")
    atomic_files.write_with(path, lambda temporary: figure.savefig(temporary, dpi=100,
                                                                   format="png"))


class InformationPlane(keras.callbacks.Callback):
    """Records the information plane of chosen layers every `every` epochs.

    Writes, in `workdir`, `information_plane.json` and
    `information_plane.csv` (one row per epoch, split, layer and estimator),
    TensorBoard scalars under `workdir/tensorboard/information_plane`, and
    `information_plane.png` (redrawn at every estimate). Files are replaced
    atomically: an interrupted run never leaves them half-written.

    Args:
        workdir: Output folder (created if missing).
        layer_names: Names of the noise layers to follow.
        train_data, test_data: Small `(x, y)` datasets to estimate on.
        every: Integer, epochs between estimates (epoch 0 is estimated
            before training starts).
        resume: Boolean. If True and `workdir` holds
            `information_plane.json`, its rows are kept and training is
            taken to continue them (no new epoch-0 estimate); the trainer
            removes rows of unfinished epochs before it resumes.
        **estimator_options: Passed to `estimate_information_plane`.
    """

    def __init__(self, workdir, layer_names, train_data, test_data, every=1, resume=False,
                 **estimator_options):
        super().__init__()
        every = _validation.positive_int("every", every)
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.layer_names = list(layer_names)
        self.datasets = {"train": train_data, "test": test_data}
        self.every = every
        self.estimator_options = estimator_options
        self.resume = resume
        self.rows = []
        self._writer = None

    def on_train_begin(self, logs=None):
        network = keras_utils.network_of(self.model)
        for name in self.layer_names:
            network.get_layer(name)  # fails early with Keras' message
        self._writer = tf.summary.create_file_writer(
            os.path.join(self.workdir, "tensorboard", "information_plane"))
        json_path = os.path.join(self.workdir, "information_plane.json")
        if self.resume and os.path.exists(json_path):
            with open(json_path) as f:
                self.rows = json.load(f)
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
            for row in estimate_information_plane(self.model, self.layer_names, dataset,
                                                  **self.estimator_options):
                new_rows.append({"epoch": epoch, "split": split, **row})
        self.rows.extend(new_rows)
        with self._writer.as_default(step=epoch):
            for row in new_rows:
                prefix = f"information_plane/{row['layer']}/{row['estimator']}/{row['split']}"
                tf.summary.scalar(f"{prefix}/I(X;Z)", row["mutual_information_x"])
                tf.summary.scalar(f"{prefix}/I(Z;Y)", row["mutual_information_y"])
        self._writer.flush()
        self._save()

    def _save(self):
        json_path = os.path.join(self.workdir, "information_plane.json")
        atomic_files.write_json(json_path, self.rows)
        csv_path = os.path.join(self.workdir, "information_plane.csv")
        with atomic_files.open_for_writing(csv_path, newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows)
        plot_information_plane(self.rows, os.path.join(self.workdir, "information_plane.png"))
