"""Per-epoch TensorBoard analysis of the noise layers, for `model.fit` users.

For a fixed batch of inputs, after every epoch:

* `kl_weighted/<layer>`: each KL layer's contribution beta * KL / N to the
  loss, when the epoch logs hold its KL (`kl_<layer>`, as a `Classifier`'s
  do; the VAE's single `kl`);
* `alpha/<layer>`: histogram of the information-dropout noise scales;
* `kl_heatmaps`: one row per input: the input beside the channel-summed KL
  map of every information-dropout layer, as in the paper's Fig. 2 and 7.
  Maps of images are drawn at the input's size; sequence and vector layers
  as strips, positions or units along x. Each tile is shifted to start at
  0 and scaled to end at 1, like the original's plots;
* `information_flow/<layer>/total` and `/per_unit`: nats transmitted per
  example through each layer, and per unit (paper Fig. 6);
* `total_correlation`: the Gaussian total correlation (per dimension) of
  the last log-normal-prior layer's log-activations, noise on (paper
  Fig. 5), across its channels: feature maps contribute one sample per
  position (`log_activation_total_correlation(..., per="channel")`). The
  original's measure, each image's flattened map one sample (the default
  there, and row 6 of the results page), needs more images than units,
  thousands for a convolutional layer, too many for a fixed batch read
  every epoch; it is skipped when there are no more samples than channels.

The per-layer summaries need a functional or Sequential model (or a
`Classifier` around one), whose graph reaches each layer's inputs
(`infodropout_tf.kl_maps`).
"""

import os
import warnings

import keras
from matplotlib.figure import Figure
import numpy as np
import tensorflow as tf

from infodropout_tf import _validation
from infodropout_tf import atomic_files
from infodropout_tf import keras_utils
from infodropout_tf.information.gaussian import log_activation_total_correlation
from infodropout_tf.layers import InformationDropout
from infodropout_tf.layers import kl_layers
from infodropout_tf.per_unit_kl import kl_map_functions
from infodropout_tf.priors import LogNormalPrior

STRIP_HEIGHT = 12  # pixels of a row of strips, when the input is no image
MIN_STRIP_WIDTH = 64  # pixels: a layer of a few units stays visible
GAP = 2  # pixels between tiles and rows


def _save_figure(figure, path):
    atomic_files.write_with(path, lambda temporary: figure.savefig(temporary, dpi=90,
                                                                   format="png"))


def _normalised(tile):
    tile = tile - tile.min()
    return tile / tile.max() if tile.max() > 0 else tile


def _as_tile(array, reduce):
    """One example's input or map as a 2-D array: channels reduced, and a
    sequence or a vector as a strip of one row."""
    reduced = reduce(array, axis=-1) if array.ndim >= 2 else array
    return reduced if reduced.ndim == 2 else reduced.reshape(1, -1)


def _resize(tile, height, width):
    """Nearest-neighbour resize: each unit becomes a block of pixels."""
    rows = np.arange(height) * tile.shape[0] // height
    columns = np.arange(width) * tile.shape[1] // width
    return tile[rows][:, columns]


def _strip_width(length):
    """A whole number of pixels per unit, at least MIN_STRIP_WIDTH in all."""
    return length * max(1, -(-MIN_STRIP_WIDTH // length))


def _row(image, maps):
    """The tiles of one example, all of one height: its input (an image or
    a sequence; a vector input is not drawn) and each KL map.

    A map laid out as the input (an image's, or a sequence's, of the same
    rank) is resized onto the input's tile, so that positions line up; any
    other keeps its aspect, a vector's units side by side.
    """
    source = _as_tile(image, np.mean) if image.ndim >= 2 else None
    height = source.shape[0] if source is not None and source.shape[0] > 1 else STRIP_HEIGHT
    tiles = []
    if source is not None:
        width = source.shape[1] if source.shape[0] > 1 else _strip_width(source.shape[1])
        tiles.append(_resize(source, height, width))
    for kl_map in maps:
        tile = _as_tile(kl_map, np.sum)
        if source is not None and kl_map.ndim == image.ndim:
            shape = tiles[0].shape
        elif tile.shape[0] > 1:
            shape = (height, max(1, round(tile.shape[1] * height / tile.shape[0])))
        else:
            shape = (height, _strip_width(tile.shape[1]))
        tiles.append(_resize(tile, *shape))
    return [_normalised(tile) for tile in tiles]


def heatmap_grid(images, maps):
    """The `kl_heatmaps` image: one row per example, tiles `GAP` apart.

    Args:
        images: Array (examples, ...) of the model's inputs.
        maps: List of KL maps (examples, ...), one per layer.

    Returns:
        `(grid, centres)`: a float32 array (height, width) in [0, 1], and
        the x position of each tile's centre (the input's first, if drawn).
    """
    rows = [_row(image, [kl_map[index] for kl_map in maps])
            for index, image in enumerate(images)]
    height = rows[0][0].shape[0]
    widths = [tile.shape[1] for tile in rows[0]]
    gap = np.zeros((height, GAP))
    lines = [np.concatenate([part for tile in row for part in (tile, gap)][:-1], axis=1)
             for row in rows]
    blank = np.zeros((GAP, lines[0].shape[1]))
    grid = np.concatenate([part for line in lines for part in (line, blank)][:-1], axis=0)
    starts = np.cumsum([0] + [width + GAP for width in widths[:-1]])
    return grid.astype(np.float32), [start + width / 2 for start, width in zip(starts, widths)]


class AnalysisSummaries(keras.callbacks.Callback):
    """Writes the TensorBoard analysis of the noise layers after every epoch.

    The summaries (listed in this module's docstring) are computed on the
    fixed batch `images`, with the noise off (the total correlation samples
    it). Their step is the epoch index, counted from 0, as
    `keras.callbacks.TensorBoard` writes its `epoch_*` scalars: the analysis
    of an epoch sits at the step of that epoch's loss (and of the
    `training_log.csv` row of `keras.callbacks.CSVLogger`).

    Example:

    ```python
    model.fit(train, epochs=10, callbacks=[
        keras.callbacks.TensorBoard("logs"),
        infodropout_tf.callbacks.AnalysisSummaries("logs/analysis", x_test[:64]),
    ])
    ```

    With `figures_dir`, each epoch also replaces `kl_heatmaps.png`,
    `information_flow.png` and `.json` (whose `epoch` is the same index)
    and `total_correlation.png` there.

    Args:
        log_dir: Folder of the TensorBoard event files.
        images: A fixed batch of inputs (array or tensor), e.g. validation
            examples; a few dozen suffice.
        num_heatmap_examples: Integer > 0, how many of them the heatmaps
            show.
        figures_dir: Folder for the PNG and JSON figures, or None for none.

    Raises:
        ValueError: an argument out of its range; at the start of `fit`, an
            information-dropout layer nested in a sub-model. A subclassed
            model (no graph to reach its layers' inputs) gets the
            `kl_weighted` scalars only, with a warning.
    """

    def __init__(self, log_dir, images, num_heatmap_examples=4, figures_dir=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.images = _validation.finite_array("images", images).astype(np.float32)
        self.num_heatmap_examples = _validation.positive_int(
            "num_heatmap_examples", num_heatmap_examples)
        self.figures_dir = None if figures_dir is None else os.fspath(figures_dir)
        self.total_correlations = []
        self._writer = None

    def on_train_begin(self, logs=None):
        network = keras_utils.network_of(self.model)
        self.kl_layers = kl_layers(network)
        names = [layer.name for layer in self.kl_layers if isinstance(layer, InformationDropout)]
        if names and not keras_utils.has_layer_graph(network):
            warnings.warn(
                f"AnalysisSummaries: {network.name!r} has no graph of layers (a subclassed "
                f"model), so its information-dropout layers {names} get no heatmaps, alpha "
                "histograms, information flow or total correlation; only kl_weighted is written.",
                stacklevel=2)
            names = []
        self.kl_maps = kl_map_functions(self.model, names) if names else {}
        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _layer_outputs(self, function):
        """The layer's KL map, noise scales and features on `images`."""
        layer_inputs = function.layer_inputs(self.images)
        kl_map = function.from_layer_inputs(layer_inputs)
        alpha = function.layer.noise_scale(layer_inputs)
        features = layer_inputs[0] if isinstance(layer_inputs, (list, tuple)) else layer_inputs
        return np.asarray(kl_map), np.asarray(alpha), np.asarray(features)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        results = {name: self._layer_outputs(function)
                   for name, function in self.kl_maps.items()}
        with self._writer.as_default(step=epoch):
            for layer in self.kl_layers:
                # Classifiers report kl_<layer>; the VAE, with one latent, kl.
                single = logs.get("kl") if len(self.kl_layers) == 1 else None
                kl = logs.get(f"kl_{layer.name}", single)
                if kl is not None:
                    tf.summary.scalar(f"kl_weighted/{layer.name}", layer.kl_weight * kl)
            flow = {}
            for name, (kl_map, alpha, _) in results.items():
                tf.summary.histogram(f"alpha/{name}", alpha)
                per_example = kl_map.reshape(len(kl_map), -1).sum(axis=1)
                flow[name] = (float(per_example.mean()),
                              float(per_example.mean() / np.prod(kl_map.shape[1:])))
                tf.summary.scalar(f"information_flow/{name}/total", flow[name][0])
                tf.summary.scalar(f"information_flow/{name}/per_unit", flow[name][1])
            if results:
                grid, centres = heatmap_grid(self.images[: self.num_heatmap_examples],
                                             [kl for kl, _, _ in results.values()])
                tf.summary.image("kl_heatmaps", grid[None, ..., None])
            tc = self._total_correlation(results)
            if tc is not None:
                tf.summary.scalar("total_correlation", tc)
        self._writer.flush()
        if tc is not None:
            self.total_correlations.append((epoch, tc))
        if self.figures_dir is not None and results:
            self._plot_heatmaps(grid, centres, list(results))
            self._plot_flow(flow, epoch)
            if self.total_correlations:
                self._plot_total_correlation()

    def _total_correlation(self, results):
        lognormal = [function.layer for function in self.kl_maps.values()
                     if isinstance(function.layer.prior, LogNormalPrior)]
        if not lognormal:
            return None
        _, alpha, features = results[lognormal[-1].name]
        if features.size // features.shape[-1] <= features.shape[-1]:
            return None  # no more samples than channels: a singular covariance
        return log_activation_total_correlation(features, alpha, per="channel")

    def _plot_heatmaps(self, grid, centres, names):
        labels = (["input"] if len(centres) > len(names) else []) + names
        figure = Figure(figsize=(max(3, grid.shape[1] / 50), max(2, grid.shape[0] / 50)),
                        layout="constrained")
        axis = figure.subplots()
        axis.imshow(grid, cmap="Blues", interpolation="nearest")
        axis.set_xticks(centres, labels, rotation=20)
        axis.set_yticks([])
        axis.set_title("KL per unit (channels summed; strips: positions or units along x)",
                       fontsize=9)
        _save_figure(figure, os.path.join(self.figures_dir, "kl_heatmaps.png"))

    def _plot_flow(self, flow, epoch):
        names = list(flow)
        figure = Figure(figsize=(9, 3.5), layout="constrained")
        axes = figure.subplots(1, 2)
        for axis, column, label in ((axes[0], 0, "nats per example"),
                                    (axes[1], 1, "nats per unit")):
            axis.bar(names, [flow[n][column] for n in names], color="tab:blue")
            axis.set_ylabel(label)
        figure.suptitle("Information flow through the information-dropout layers, "
                        f"epoch index {epoch}")
        _save_figure(figure, os.path.join(self.figures_dir, "information_flow.png"))
        atomic_files.write_json(
            os.path.join(self.figures_dir, "information_flow.json"),
            {"epoch": epoch,
             "layers": {n: {"total": t, "per_unit": u} for n, (t, u) in flow.items()}})

    def _plot_total_correlation(self):
        epochs, values = zip(*self.total_correlations)
        figure = Figure(figsize=(5, 3.5), layout="constrained")
        axis = figure.subplots()
        axis.plot(epochs, values, marker="o")
        axis.set_xlabel("epoch index (TensorBoard step)")
        axis.set_ylabel("total correlation per dimension [nats]")
        _save_figure(figure, os.path.join(self.figures_dir, "total_correlation.png"))
