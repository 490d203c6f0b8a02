"""The information plane drawn: (I(X; Z), I(Z; Y)) trajectories over epochs.

One row of panels per layer, one panel per I(X; Z) estimator, each epoch a
point coloured by its epoch, as in Adilova, Geiger & Fischer (ICLR 2023),
Figs. 1 and 5. The rows are those of `information/plane.py`.

Figures are `matplotlib.figure.Figure` objects, not pyplot: importing or
drawing never selects a backend, so a notebook's backend stays as it is.
"""

import matplotlib.cm
import matplotlib.colors
from matplotlib.figure import Figure
import numpy as np

from infodropout_tf import atomic_files


def draw_log_n(axis, log_n):
    """Draws the ceiling log n of an estimate over n examples, a dashed vertical line.

    The Gaussian-mixture and binning estimates of I(X; Z) on n examples
    cannot exceed log n (the data are n points).

    Args:
        axis: A matplotlib `Axes` whose x-axis is I(X; Z) in nats.
        log_n: Float, log of the number of examples.
    """
    axis.axvline(log_n, color="0.4", linestyle="--", linewidth=1, label=f"log n = {log_n:.2f}")


def _plot_panel(axis, rows, layer, estimator, norm, ceiling):
    """One layer's trajectory by one estimator: train circles, test triangles."""
    for split, marker in (("train", "o"), ("test", "^")):
        points = sorted((r["epoch"], r["mutual_information_x"], r["mutual_information_y"])
                        for r in rows if (r["layer"], r["estimator"], r["split"])
                        == (layer, estimator, split))
        if not points:
            continue
        epoch, x, y = map(np.asarray, zip(*points))
        axis.plot(x, y, color="0.7", linewidth=0.8, zorder=1)
        axis.scatter(x, y, c=epoch, cmap="viridis", norm=norm, marker=marker, label=split,
                     zorder=2)
    if ceiling is not None and estimator in ("gaussian_mixture", "binning"):
        draw_log_n(axis, ceiling)
    relative = any(r["relative_to_prior_constant"] for r in rows
                   if (r["layer"], r["estimator"]) == (layer, estimator))
    axis.set_xlabel("I(X;Z) [nats]" + (" + const (log-uniform prior)" if relative else ""))
    axis.set_ylabel("I(Z;Y) lower bound [nats]")
    axis.set_title(f"{layer}: {estimator.replace('_', ' ')}")
    axis.legend(loc="lower right")


def plot_information_plane(rows, path, ceilings=None):
    """Draws one row of panels per layer, one panel per estimator, epochs
    coloured, and writes it as a PNG.

    Each row's panels start at the left, in the estimators' sorted order,
    each titled with its layer and estimator. The x-axis of an estimate
    relative to the log-uniform prior's constant (the closed-form KL bound,
    `relative_to_prior_constant`) says so.

    Args:
        rows: Rows of `information_plane.json` (`plane.FIELDS`): `epoch`,
            `split` ("train" or "test"), `layer`, `estimator`,
            `mutual_information_x`, `mutual_information_y`,
            `relative_to_prior_constant`. At least one.
        path: The PNG to write, replaced atomically.
        ceilings: Dict {layer: log n}, or None: draws the bound log n of
            the Gaussian-mixture and binning estimates on n examples in
            that layer's panels.

    Returns:
        The matplotlib `Figure`, already written to `path`.
    """
    ceilings = ceilings or {}
    layers = sorted({row["layer"] for row in rows})
    estimators = {layer: sorted({row["estimator"] for row in rows if row["layer"] == layer})
                  for layer in layers}
    columns = max(len(names) for names in estimators.values())
    epochs = [row["epoch"] for row in rows]
    norm = matplotlib.colors.Normalize(min(epochs), max(max(epochs), min(epochs) + 1))
    figure = Figure(figsize=(4.5 * columns + 1, 4 * len(layers)), layout="constrained")
    axes = figure.subplots(len(layers), columns, squeeze=False)
    for row_axes, layer in zip(axes, layers):
        for axis in row_axes[len(estimators[layer]):]:
            axis.set_visible(False)
        for axis, estimator in zip(row_axes, estimators[layer]):
            _plot_panel(axis, rows, layer, estimator, norm, ceilings.get(layer))
    figure.colorbar(matplotlib.cm.ScalarMappable(norm, "viridis"), ax=axes.ravel().tolist(),
                    label="epoch")
    atomic_files.write_with(path, lambda temporary: figure.savefig(temporary, dpi=100,
                                                                   format="png"))
    return figure
