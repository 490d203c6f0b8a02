"""The numbers and figures of docs/results.md, read from finished runs.

One function per row of the results page. Each takes the row's finished
runs, as `(sweeps.Run, workdir)` pairs, and the output folder, and writes
`<row>.json` (the numbers quoted on the page) and `<row>.png` there; the
runs are told apart by their overrides, so a row reports whichever of its
runs have finished. `infodropout-reproduce report ROW` calls them.

Figures are drawn on `matplotlib.figure.Figure` objects, not pyplot, so a
caller's backend and open figures are left alone, and every file is written
aside and renamed (`atomic_files`).
"""

import csv
import json
import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from infodropout_tf import atomic_files

# VAE test lower bound with k = 1 (paper Table 1), nats.
PAPER_VAE = {"gaussian": -98.8, "information_dropout": -100.0}


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_training_log(workdir):
    """`workdir/training_log.csv` as {column: float array}, one entry per epoch.

    A rerun after a kill may repeat epochs (and, with older Keras, the
    header); the last row of each epoch is kept.
    """
    with open(os.path.join(workdir, "training_log.csv"), newline="") as f:
        reader = csv.DictReader(f)
        by_epoch = {}
        for row in reader:
            if row["epoch"] == "epoch":  # a repeated header
                continue
            by_epoch[int(row["epoch"])] = {name: float(value) for name, value in row.items()}
    epochs = sorted(by_epoch)
    return {name: np.array([by_epoch[e][name] for e in epochs])
            for name in (reader.fieldnames or [])}


def _metrics(workdir):
    return read_json(os.path.join(workdir, "metrics.json"))


def _write(output, row, summary, figure=None):
    """Writes `output/<row>.json` and, given a figure, `output/<row>.png`."""
    atomic_files.write_json(os.path.join(output, f"{row}.json"), summary)
    if figure is not None:
        atomic_files.write_with(os.path.join(output, f"{row}.png"),
                                lambda temporary: figure.savefig(temporary, dpi=100,
                                                                 format="png"))
    print(json.dumps(summary, indent=1))


def vae(finished, output):
    """Test ELBO per epoch of the Gaussian and information-dropout VAEs (Table 1)."""
    summary = {"protocol": "training images binarised anew each epoch, test images binarised "
                           "once (seeded); lower bound = minus the test negative ELBO, one "
                           "latent sample per test example (k = 1), and the k = 100 "
                           "importance-weighted bound on the first 1,000 test images",
               "paper_k1": PAPER_VAE}
    figure = Figure(figsize=(6, 4), layout="constrained")
    axis = figure.subplots()
    workdirs = {run.overrides["model.latent"]: workdir for run, workdir in finished}
    for latent, color in (("gaussian", "C0"), ("information_dropout", "C1")):
        if latent not in workdirs:
            continue
        metrics, log = _metrics(workdirs[latent]), read_training_log(workdirs[latent])
        summary[latent] = {"epochs": len(log["epoch"]), "elbo": -metrics["loss"],
                           "reconstruction": metrics["reconstruction"], "kl": metrics["kl"],
                           "iwae_k100": metrics["iwae_log_likelihood"]}
        axis.plot(log["epoch"] + 1, -log["val_loss"], color=color, label=f"{latent} (here)")
        axis.axhline(PAPER_VAE[latent], color=color, linestyle="--",
                     label=f"{latent} (paper, 300 epochs)")
    if "gaussian" in summary:
        summary["gaussian_minus_paper"] = summary["gaussian"]["elbo"] - PAPER_VAE["gaussian"]
    if "gaussian" in summary and "information_dropout" in summary:
        summary["information_dropout_minus_gaussian"] = (
            summary["information_dropout"]["elbo"] - summary["gaussian"]["elbo"])
    axis.set_ylim(-115, -90)
    axis.set_xlabel("epoch")
    axis.set_ylabel("test ELBO, k = 1 [nats]")
    axis.set_title("VAE on binarised MNIST (paper Table 1)")
    axis.legend()
    _write(output, "vae", summary, figure)


def mlp_width(finished, output):
    """Mean and spread over seeds of the MLP's test error per noise and width (Fig. 3a)."""
    errors = {}  # noise -> width -> [error per seed], in the sweep's order
    for run, workdir in finished:
        noise, width = run.overrides["model.noise"], run.overrides["model.width"]
        errors.setdefault(noise, {}).setdefault(width, []).append(
            _metrics(workdir)["deterministic_error"])
    summary = {"metric": "test error, deterministic representation, after 10 epochs",
               "errors": {}}
    figure = Figure(figsize=(6, 4), layout="constrained")
    axis = figure.subplots()
    for noise, by_width in errors.items():
        widths = sorted(by_width)
        mean = np.array([np.mean(by_width[w]) for w in widths])
        std = np.array([np.std(by_width[w]) for w in widths])
        axis.errorbar(widths, 100 * mean, yerr=100 * std, marker="o", capsize=3, label=noise)
        summary["errors"][noise] = {str(w): {"mean": float(m), "std": float(s),
                                             "seeds": len(by_width[w])}
                                    for w, m, s in zip(widths, mean, std)}
    all_widths = sorted({w for by_width in errors.values() for w in by_width})
    axis.set_xscale("log", base=2)
    axis.set_xticks(all_widths, [str(w) for w in all_widths])
    axis.set_xlabel("hidden units per layer")
    axis.set_ylabel("test error [%]")
    axis.set_title("MNIST MLP, 3 hidden layers (paper Fig. 3a)")
    axis.legend()
    _write(output, "mlp_width", summary, figure)


def _kl_map_functions(model):
    """{layer name: images -> channel-summed KL map (batch, h, w)} of every
    convolutional information-dropout layer of a trained classifier."""
    from infodropout_tf.per_unit_kl import kl_map_functions
    from infodropout_tf.layers import InformationDropout

    return {name: (lambda images, f=f: np.asarray(f(images)).sum(axis=-1))
            for name, f in kl_map_functions(model).items()
            if isinstance(f.layer, InformationDropout) and len(f.layer.output.shape) == 4}


def cluttered(finished, output):
    """Share of each layer's KL inside the digit's box, and KL maps (Fig. 2)."""
    import keras
    import tensorflow_datasets as tfds

    from infodropout_tf import data
    from infodropout_tf.information import kl_mass_inside_boxes

    config = read_json(os.path.join(finished[0][1], "config.json"))
    test = data.load("cluttered_mnist", "test", config["dataset"]["data_dir"], batch_size=500,
                     as_dict=True, **config["dataset"]["options"])
    batches = list(tfds.as_numpy(test))
    size = config["dataset"]["options"]["image_size"]
    boxes = np.concatenate([b["digit_box"] for b in batches])
    box_area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / size**2
    summary = {"test_examples": len(boxes), "box_area_fraction": float(box_area.mean()),
               "kl_mass_inside_box": {}, "test_error": {}}
    num_examples = 3  # shown in the figure, the first of the test set
    examples, maps_of = batches[0]["image"][:num_examples], {}
    for run, workdir in finished:
        beta = run.overrides["model.beta"]
        model = keras.models.load_model(os.path.join(workdir, "model.keras"))
        inside = {}
        for layer, kl_map_of in _kl_map_functions(model).items():
            # The log-uniform KL is defined up to a constant per unit: score
            # (and draw) the KL above each map's minimum.
            excess = [kl - kl.min(axis=(1, 2), keepdims=True)
                      for kl in (kl_map_of(batch["image"]) for batch in batches)]
            inside[layer] = float(np.concatenate(
                [kl_mass_inside_boxes(kl, batch["digit_box"], size)
                 for kl, batch in zip(excess, batches)]).mean())
            maps_of.setdefault(beta, {})[layer] = excess[0][:num_examples]
        summary["kl_mass_inside_box"][str(beta)] = inside
        summary["test_error"][str(beta)] = _metrics(workdir)["deterministic_error"]

    layers = sorted(next(iter(maps_of.values())))
    columns = 1 + len(maps_of) * len(layers)
    figure = Figure(figsize=(1.9 * columns, 2 * len(examples)), layout="constrained")
    axes = figure.subplots(len(examples), columns, squeeze=False)
    for row, image in enumerate(examples):
        axes[row, 0].imshow(image[..., 0], cmap="gray")
        top, left, bottom, right = batches[0]["digit_box"][row]
        axes[row, 0].add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                                         fill=False, edgecolor="red"))
        column = 1
        for beta, maps in maps_of.items():
            for layer in layers:
                axes[row, column].imshow(maps[layer][row], cmap="viridis")
                if row == 0:
                    axes[row, column].set_title(f"beta {beta}\n{layer}", fontsize=9)
                column += 1
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle("Cluttered MNIST: KL per position (channels summed), paper Fig. 2")
    _write(output, "cluttered", summary, figure)


def plane(finished, output):
    """Information-plane trajectories of each noise (Adilova et al. Fig. 1)."""
    from infodropout_tf.information.plane import plot_information_plane

    rows, summary = [], {}
    for run, workdir in finished:
        noise = run.overrides["model.noise"]
        noise_rows = read_json(os.path.join(workdir, "information_plane.json"))
        # One panel per network and estimator: name the layer after the noise.
        rows += [{**row, "layer": f"{noise} dropout"} for row in noise_rows]
        for estimator in sorted({row["estimator"] for row in noise_rows}):
            train = [r for r in noise_rows if r["estimator"] == estimator and r["split"] == "train"]
            summary.setdefault(noise, {})[estimator] = {
                "epochs": [r["epoch"] for r in train],
                "mutual_information_x": [r["mutual_information_x"] for r in train],
                "mutual_information_y": [r["mutual_information_y"] for r in train],
                "relative_to_prior_constant": any(r["relative_to_prior_constant"] for r in train)}
    plot_information_plane(rows, os.path.join(output, "plane.png"))  # written atomically
    _write(output, "plane", summary)


def flow(finished, output):
    """Information through each layer against the filter fraction (Fig. 6)."""
    flows = {run.overrides["model.filter_fraction"]:
             read_json(os.path.join(workdir, "information_flow.json"))["layers"]
             for run, workdir in finished}
    fractions = sorted(flows)
    layers = sorted(next(iter(flows.values())))
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots(1, 2)
    for layer in layers:
        for axis, key in zip(axes, ("total", "per_unit")):
            axis.plot(fractions, [flows[f][layer][key] for f in fractions], marker="o",
                      label=layer)
    for axis, label in zip(axes, ("nats per example", "nats per example and unit")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(fractions, [str(f) for f in fractions])
        axis.set_xlabel("filter fraction")
        axis.set_ylabel(label)
        axis.legend()
    axes[0].set_title("information through each layer (total)")
    axes[1].set_title("per unit")
    figure.suptitle("All-CNN-32 on MNIST, information flow (paper Fig. 6)")
    _write(output, "flow", {"flow": {str(f): flows[f] for f in fractions}}, figure)


REPORTS = {"vae": vae, "mlp_width": mlp_width, "cluttered": cluttered, "plane": plane,
           "flow": flow}
