"""Per-epoch analysis of the noise layers, for TensorBoard and as PNG files.

For a fixed set of validation inputs, after every epoch:

* `kl_weighted/<layer>`: each KL layer's contribution beta * KL / N to the
  loss (the unweighted KL per example is the `kl_<layer>` metric);
* `alpha/<layer>`: histogram of the information-dropout noise scales;
* `kl_heatmaps`: each input beside the channel-summed KL map of every
  convolutional information-dropout layer, as in the paper's Fig. 2 and 7
  (maps shifted to start at 0, like the original's plots);
* `information_flow/<layer>/total` and `/per_unit`: nats transmitted per
  example through each layer, and per unit (paper Fig. 6);
* `total_correlation`: the Gaussian total correlation (per dimension) of
  the last log-normal-prior layer's log-activations, noise on (paper
  Fig. 5); feature maps contribute one sample per spatial position.

Written under `workdir/tensorboard/analysis`, and as
`kl_heatmaps.png`, `information_flow.png` and `total_correlation.png` in
the workdir (replaced every epoch).
"""

import os

import keras
from matplotlib.figure import Figure
import numpy as np
import tensorflow as tf

from infodropout_tf import atomic_files
from infodropout_tf import keras_utils
from infodropout_tf.layers import kl_layers
from infodropout_tf.per_unit_kl import kl_map_functions
from infodropout_tf.information.gaussian import total_correlation
from infodropout_tf.layers import InformationDropout
from infodropout_tf.priors import LOG_FEATURE_FLOOR
from infodropout_tf.priors import LogNormalPrior


def _save_figure(figure, path):
    atomic_files.write_with(path, lambda temporary: figure.savefig(temporary, dpi=90,
                                                                   format="png"))


def _normalised(image):
    image = image - image.min()
    return image / image.max() if image.max() > 0 else image


class AnalysisSummaries(keras.callbacks.Callback):
    """Writes the analysis above after every epoch.

    Args:
        workdir: Output folder.
        images: A fixed batch of validation inputs.
        num_heatmap_examples: How many of them the heatmaps show.
    """

    def __init__(self, workdir, images, num_heatmap_examples=4):
        super().__init__()
        self.workdir = workdir
        self.images = images
        self.num_heatmap_examples = num_heatmap_examples
        self.total_correlations = []
        self._writer = None

    def on_train_begin(self, logs=None):
        self.kl_layers = kl_layers(keras_utils.network_of(self.model))
        self.dropout_layers = [layer for layer in self.kl_layers
                               if isinstance(layer, InformationDropout)]
        self.kl_maps = kl_map_functions(self.model, self.dropout_layers) \
            if getattr(keras_utils.network_of(self.model), "inputs", None) else {}
        self._writer = tf.summary.create_file_writer(
            os.path.join(self.workdir, "tensorboard", "analysis"))

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()

    def _layer_outputs(self, layer):
        inputs = self.kl_maps[layer.name].to_inputs(self.images, training=False)
        _, kl_map = layer(inputs, return_kl_map=True)
        features = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        return np.asarray(kl_map), np.asarray(layer.noise_scale(inputs)), np.asarray(features)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = epoch + 1
        results = {layer.name: self._layer_outputs(layer)
                   for layer in self.dropout_layers if layer.name in self.kl_maps}
        with self._writer.as_default(step=step):
            for layer in self.kl_layers:
                # Classifiers report kl_<layer>; the VAE, with one latent, kl.
                kl = logs.get(f"kl_{layer.name}", logs.get("kl") if len(self.kl_layers) == 1 else None)
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
            heatmaps = self._heatmaps(results)
            if heatmaps is not None:
                tf.summary.image("kl_heatmaps", heatmaps[None], step=step)
            tc = self._total_correlation(results)
            if tc is not None:
                tf.summary.scalar("total_correlation", tc)
        self._writer.flush()
        if flow:
            self._plot_flow(flow, step)
        if tc is not None:
            self.total_correlations.append((step, tc))
            self._plot_total_correlation()

    def _heatmaps(self, results):
        """A grid image: rows are inputs, columns the input and each map."""
        maps = {name: kl for name, (kl, _, _) in results.items() if kl.ndim == 4}
        if not maps:
            return None
        images = np.asarray(self.images)[: self.num_heatmap_examples]
        size = images.shape[1:3]
        rows = []
        for index, image in enumerate(images):
            tiles = [_normalised(image.mean(axis=-1))]
            for kl in maps.values():
                summed = kl[index].sum(axis=-1)
                repeat = (size[0] // summed.shape[0], size[1] // summed.shape[1])
                upsampled = np.kron(_normalised(summed), np.ones(repeat))
                tiles.append(np.pad(upsampled, ((0, size[0] - upsampled.shape[0]),
                                                (0, size[1] - upsampled.shape[1]))))
            rows.append(np.concatenate(tiles, axis=1))
        grid = np.concatenate(rows, axis=0).astype(np.float32)

        figure = Figure(figsize=(2 * (len(maps) + 1), 2 * len(images)))
        axis = figure.subplots()
        axis.imshow(grid, cmap="Blues")
        axis.set_xticks([(i + 0.5) * size[1] for i in range(len(maps) + 1)],
                        ["input"] + list(maps), rotation=20)
        axis.set_yticks([])
        axis.set_title("KL per position (channels summed)")
        _save_figure(figure, os.path.join(self.workdir, "kl_heatmaps.png"))
        return grid[..., None]

    def _total_correlation(self, results):
        lognormal = [layer for layer in self.dropout_layers
                     if isinstance(layer.prior, LogNormalPrior) and layer.name in results]
        if not lognormal:
            return None
        _, alpha, features = results[lognormal[-1].name]
        rng = np.random.default_rng(0)
        log_z = (np.log(np.maximum(features, LOG_FEATURE_FLOOR))
                 + alpha * rng.standard_normal(alpha.shape))
        samples = log_z.reshape(-1, log_z.shape[-1])
        return float(total_correlation(samples)) if len(samples) > samples.shape[1] else None

    def _plot_flow(self, flow, step):
        names = list(flow)
        figure = Figure(figsize=(9, 3.5), layout="constrained")
        axes = figure.subplots(1, 2)
        for axis, column, label in ((axes[0], 0, "nats per example"),
                                    (axes[1], 1, "nats per unit")):
            axis.bar(names, [flow[n][column] for n in names], color="tab:blue")
            axis.set_ylabel(label)
        figure.suptitle(f"Information flow through the information-dropout layers, epoch {step}")
        _save_figure(figure, os.path.join(self.workdir, "information_flow.png"))
        atomic_files.write_json(
            os.path.join(self.workdir, "information_flow.json"),
            {"epoch": step, "layers": {n: {"total": t, "per_unit": u} for n, (t, u) in flow.items()}})

    def _plot_total_correlation(self):
        steps, values = zip(*self.total_correlations)
        figure = Figure(figsize=(5, 3.5), layout="constrained")
        axis = figure.subplots()
        axis.plot(steps, values, marker="o")
        axis.set_xlabel("epoch")
        axis.set_ylabel("total correlation per dimension [nats]")
        _save_figure(figure, os.path.join(self.workdir, "total_correlation.png"))
