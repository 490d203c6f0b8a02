"""Runs the experiments of docs/results.md and writes its numbers and figures.

    python docs/reproduce.py run vae --root /tmp/results
    python docs/reproduce.py report vae --root /tmp/results

`run ROW` trains every configuration of a row with the package's own
command-line trainers (the exact commands are printed, and listed in
docs/results.md), one after the other, each in `ROOT/<run name>`; a run whose
workdir already holds `metrics.json` is skipped, and an interrupted one
resumes from its backup. `report ROW` reads those workdirs and writes
`docs/results/<row>.json` and `docs/results/<row>.png`. Rows: vae,
mlp_width, cluttered, plane, flow (or `all`).

MNIST is read from $TFDS_DATA_DIR; the cluttered row needs a writable
tensorflow-datasets directory holding a prepared `mnist` (`--data_dir`),
where it prepares Cluttered MNIST first if it is missing.
"""

import argparse
import json
import os
import pathlib
import shlex
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"

# Shorter schedules than the paper's (the machine has 2 CPU cores); each keeps
# the paper's learning-rate drops at the same fractions of training.
MLP_WIDTHS = (64, 128, 256)
MLP_NOISES = ("information", "binary", "constant_lognormal", "none")
MLP_SEEDS = (0, 1, 2)
CLUTTERED_BETAS = (0.5, 5.0)
CLUTTERED_DATA = {"num_train": 20_000, "num_test": 2_000}
FLOW_FRACTIONS = (0.125, 0.25, 0.5)
PLANE_NOISES = ("information", "gaussian")


def _overrides(**fields):
    return [f"--config.{name}={value}" for name, value in fields.items()]


def runs(row, data_dir):
    """The (run name, command) pairs of a row, in the order they run."""
    if row == "vae":
        return [(f"vae_{latent}",
                 ["infodropout-train-vae", "--config=configs/mnist_vae.py",
                  *_overrides(**{"model.latent": latent, "num_epochs": 60})])
                for latent in ("gaussian", "information_dropout")]
    if row == "mlp_width":
        return [(f"mlp_w{width}_{noise}_s{seed}",
                 ["infodropout-train", "--config=configs/mnist_mlp.py",
                  *_overrides(**{"model.width": width, "model.noise": noise, "seed": seed,
                                 "num_epochs": 10, "optimizer.boundaries": "(4,8)"})])
                for seed in MLP_SEEDS for width in MLP_WIDTHS for noise in MLP_NOISES]
    if row == "cluttered":
        options = {f"dataset.options.{k}": v for k, v in CLUTTERED_DATA.items()}
        return [(f"cluttered_beta{beta}",
                 ["infodropout-train", "--config=configs/cluttered_all_cnn96.py",
                  *_overrides(**{"model.beta": beta, "model.filter_fraction": 0.25,
                                 "dataset.data_dir": data_dir, **options,
                                 "num_epochs": 8, "optimizer.boundaries": "(6,)"})])
                for beta in CLUTTERED_BETAS]
    if row == "plane":
        return [(f"plane_{noise}",
                 ["infodropout-train", "--config=configs/mnist_lenet_information_plane.py",
                  *_overrides(**{"model.noise": noise, "num_epochs": 10})])
                for noise in PLANE_NOISES]
    if row == "flow":
        return [(f"flow_f{fraction}",
                 ["infodropout-train", "--config=configs/mnist_all_cnn32.py",
                  *_overrides(**{"model.filter_fraction": fraction, "num_epochs": 3,
                                 "steps_per_epoch": 200, "optimizer.boundaries": "(2,)",
                                 "eval_steps": 20})])
                for fraction in FLOW_FRACTIONS]
    raise ValueError(f"Unknown row {row!r}; expected one of {ROWS} or 'all'.")


ROWS = ("vae", "mlp_width", "cluttered", "plane", "flow")


def run(row, root, data_dir):
    if row == "cluttered":
        _prepare_cluttered(data_dir)
    for name, command in runs(row, data_dir):
        workdir = os.path.join(root, name)
        if os.path.exists(os.path.join(workdir, "metrics.json")):
            print(f"{name}: done already, skipped")
            continue
        command = command + [f"--workdir={workdir}"]
        print("$", shlex.join(command), flush=True)
        with open(workdir + ".log", "a") as log:
            status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=pathlib.Path(__file__).resolve().parents[1]).returncode
        if status != 0:
            sys.exit(f"error: run {name} failed (exit status {status}); its output is in "
                     f"{workdir}.log. Rerunning resumes it from its last completed epoch.")


def _prepare_cluttered(data_dir):
    from infodropout_tf.data import pipelines
    from infodropout_tf.data import prepare

    if not pipelines.builder("cluttered_mnist", data_dir, **CLUTTERED_DATA).is_prepared():
        prepare.prepare("cluttered_mnist", data_dir, **CLUTTERED_DATA)


# Reports ---------------------------------------------------------------------------

def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _read_log(workdir):
    """training_log.csv as a dict of float columns (the last run of each epoch)."""
    with open(os.path.join(workdir, "training_log.csv")) as f:
        header, *lines = [line.strip().split(",") for line in f if line.strip()]
    rows = {}
    for line in lines:
        if line != header:  # a resumed run appends its header again
            rows[int(line[0])] = [float(v) for v in line]
    return {name: np.array([rows[e][i] for e in sorted(rows)]) for i, name in enumerate(header)}


def _finished(root, row):
    """{run name: workdir} of the row's runs that finished."""
    done = {name: os.path.join(root, name) for name, _ in runs(row, "")
            if os.path.exists(os.path.join(root, name, "metrics.json"))}
    if not done:
        raise FileNotFoundError(f"No finished run of row {row!r} in {root}; "
                                f"run `python docs/reproduce.py run {row} --root {root}` first.")
    return done


def _write(row, summary, figure=None):
    """docs/results/<row>.json, and <row>.png unless the figure is written already."""
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / f"{row}.json", "w") as f:
        json.dump(summary, f, indent=1)
    if figure is not None:
        figure.savefig(RESULTS / f"{row}.png", dpi=100)
        plt.close(figure)
    print(json.dumps(summary, indent=1))


PAPER_VAE = {"gaussian": -98.8, "information_dropout": -100.0}  # Table 1, k = 1


def report_vae(root):
    done = _finished(root, "vae")
    figure, axis = plt.subplots(figsize=(6, 4), layout="constrained")
    summary = {"protocol": "training images binarised anew each epoch, test images binarised "
                           "once (seeded); lower bound = minus the test negative ELBO, one "
                           "latent sample per test example (k = 1), and the k = 100 "
                           "importance-weighted bound on the first 1,000 test images",
               "paper_k1": PAPER_VAE}
    for latent, color in (("gaussian", "C0"), ("information_dropout", "C1")):
        name = f"vae_{latent}"
        if name not in done:
            continue
        metrics, log = _read_json(os.path.join(done[name], "metrics.json")), _read_log(done[name])
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
    _write("vae", summary, figure)


def report_mlp_width(root):
    done = _finished(root, "mlp_width")
    errors = {}
    for noise in MLP_NOISES:
        for width in MLP_WIDTHS:
            values = [_read_json(os.path.join(done[n], "metrics.json"))["deterministic_error"]
                      for n in (f"mlp_w{width}_{noise}_s{s}" for s in MLP_SEEDS) if n in done]
            if values:
                errors.setdefault(noise, {})[width] = values
    figure, axis = plt.subplots(figsize=(6, 4), layout="constrained")
    summary = {"metric": "test error, deterministic representation, after 10 epochs",
               "errors": {}}
    for noise, by_width in errors.items():
        widths = sorted(by_width)
        mean = np.array([np.mean(by_width[w]) for w in widths])
        std = np.array([np.std(by_width[w]) for w in widths])
        axis.errorbar(widths, 100 * mean, yerr=100 * std, marker="o", capsize=3, label=noise)
        summary["errors"][noise] = {str(w): {"mean": float(np.mean(by_width[w])),
                                             "std": float(np.std(by_width[w])),
                                             "seeds": len(by_width[w])} for w in widths}
    axis.set_xscale("log", base=2)
    axis.set_xticks(MLP_WIDTHS, [str(w) for w in MLP_WIDTHS])
    axis.set_xlabel("hidden units per layer")
    axis.set_ylabel("test error [%]")
    axis.set_title("MNIST MLP, 3 hidden layers (paper Fig. 3a)")
    axis.legend()
    _write("mlp_width", summary, figure)


def _kl_map_functions(model):
    """{layer name: images -> channel-summed KL map (batch, h, w)} of every
    convolutional information-dropout layer of a trained classifier."""
    from infodropout_tf.kl_maps import kl_map_functions
    from infodropout_tf.layers import InformationDropout

    functions = kl_map_functions(model)
    return {name: (lambda images, f=f: np.asarray(f(images)).sum(axis=-1))
            for name, f in functions.items()
            if isinstance(f.layer, InformationDropout) and len(f.layer.output.shape) == 4}


def report_cluttered(root):
    import keras
    import tensorflow_datasets as tfds

    from infodropout_tf import data
    from infodropout_tf.information import kl_mass_inside_boxes

    done = _finished(root, "cluttered")
    config = _read_json(os.path.join(next(iter(done.values())), "config.json"))
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
    for beta in CLUTTERED_BETAS:
        name = f"cluttered_beta{beta}"
        if name not in done:
            continue
        model = keras.models.load_model(os.path.join(done[name], "model.keras"))
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
        metrics = _read_json(os.path.join(done[name], "metrics.json"))
        summary["test_error"][str(beta)] = metrics["deterministic_error"]
    layers = sorted(next(iter(maps_of.values())))
    columns = 1 + len(maps_of) * len(layers)
    figure, axes = plt.subplots(len(examples), columns, figsize=(1.9 * columns, 2 * len(examples)),
                                squeeze=False, layout="constrained")
    for row, image in enumerate(examples):
        axes[row, 0].imshow(image[..., 0], cmap="gray")
        top, left, bottom, right = batches[0]["digit_box"][row]
        axes[row, 0].add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
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
    _write("cluttered", summary, figure)


def report_plane(root):
    from infodropout_tf.information.plane import plot_information_plane

    done = _finished(root, "plane")
    rows, summary = [], {}
    for noise in PLANE_NOISES:
        if f"plane_{noise}" not in done:
            continue
        noise_rows = _read_json(os.path.join(done[f"plane_{noise}"], "information_plane.json"))
        # One panel per network and estimator: name the layer after the noise.
        rows += [{**row, "layer": f"{noise} dropout"} for row in noise_rows]
        for estimator in sorted({row["estimator"] for row in noise_rows}):
            train = [r for r in noise_rows if r["estimator"] == estimator and r["split"] == "train"]
            summary.setdefault(noise, {})[estimator] = {
                "epochs": [r["epoch"] for r in train],
                "mutual_information_x": [r["mutual_information_x"] for r in train],
                "mutual_information_y": [r["mutual_information_y"] for r in train],
                "relative_to_prior_constant": any(r["relative_to_prior_constant"] for r in train)}
    RESULTS.mkdir(exist_ok=True)
    plot_information_plane(rows, str(RESULTS / "plane.png"))
    _write("plane", summary)


def report_flow(root):
    done = _finished(root, "flow")
    flows = {fraction: _read_json(os.path.join(done[f"flow_f{fraction}"],
                                               "information_flow.json"))["layers"]
             for fraction in FLOW_FRACTIONS if f"flow_f{fraction}" in done}
    fractions = sorted(flows)
    layers = sorted(next(iter(flows.values())))
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
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
    _write("flow", {"flow": {str(f): flows[f] for f in fractions}}, figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("run", "report"))
    parser.add_argument("rows", nargs="+", choices=ROWS + ("all",))
    parser.add_argument("--root", required=True, help="folder of the runs' workdirs")
    parser.add_argument("--data_dir", default=os.environ.get("TFDS_DATA_DIR", ""),
                        help="writable tensorflow-datasets folder with mnist (cluttered row)")
    args = parser.parse_args(argv)
    rows = ROWS if "all" in args.rows else args.rows
    os.makedirs(args.root, exist_ok=True)
    for row in rows:
        if args.action == "run":
            run(row, args.root, args.data_dir)
        else:
            REPORTS[row](args.root)


REPORTS = {"vae": report_vae, "mlp_width": report_mlp_width, "cluttered": report_cluttered,
           "plane": report_plane, "flow": report_flow}

if __name__ == "__main__":
    main()
