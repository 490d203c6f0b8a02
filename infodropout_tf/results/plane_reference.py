"""Row 4's Gaussian-dropout networks under Adilova et al.'s released estimator, epoch by epoch.

    python -m infodropout_tf.results.plane_reference --root ROOT --out docs/results

reads the Gaussian-dropout runs of the `plane` sweep in ROOT
(`infodropout-reproduce run plane --root ROOT`): the 784-512-128-32-10
MLP and LeNet, whose trainer kept a checkpoint after every epoch
(`checkpoints/epoch_NNNN.keras`). For each checkpoint it takes the
noise-free representations m of the followed layer (the input of its
Gaussian-dropout layer) on the first 1,000 training examples, the number
of mixture components of the released code (`GMM_MEANS_NUM`), and
computes:

* the released code's estimate of I(X; Z)
  (`adilova_reference.reference_code_information`, mixture covariance
  c diag(|m|), 10 noisy draws per input, sigma the network's own noise
  standard deviation), twice: with dropout_MI.py's c = 1/99, and with
  c = sigma, as its MNIST notebook passes one `drp_noise` as both;
* what that estimate would read if it were log n plus its excess where the
  components do not overlap, `log n + mean_x sum_i b(|m_i(x)|)`
  (`adilova_reference.reference_code_bias_bound`): a function of the
  activations' scale alone;
* the package's estimate on the same inputs and draws' number
  (`infodropout_tf.information.gaussian_dropout_information`, the true
  mixture sigma^2 diag(m^2)), ceiling log 1,000 = 6.91 nats;
* the mean activation |m| over inputs and units.

Units at exactly 0 on every input (dead softplus units) are left out of
all of them.

Beside them it keeps the run's own information-plane estimate (10,000
examples, ceiling 9.21 nats) from `information_plane.json`. It writes
`plane_reference.json` and `plane_reference.png` (docs/results.md, row 4).
If the released estimate's rises and falls over training follow the
scale-only prediction while the package's estimate stays flat, what it
shows is the activations' scale, not information.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
from matplotlib.figure import Figure

from infodropout_tf import _validation
from infodropout_tf import keras_utils
from infodropout_tf import workdir_files
from infodropout_tf.information.plane import read_rows
from infodropout_tf.results import adilova_reference
from infodropout_tf.results import plots
from infodropout_tf.results import run_folder
from infodropout_tf.training.evaluate import load_model
from infodropout_tf.training.workdir import Workdir
from infodropout_tf.workdir_files import TEXT

RUNS = ("plane_mlp_gaussian", "plane_lenet_gaussian")
NUM_INPUTS = adilova_reference.REFERENCE_COMPONENTS
# The released code's component covariance c diag(|m|), c from the
# noise's sigma: dropout_MI.py's own constant, and `drp_noise` passed as
# both sigma and c, as its MNIST notebook does.
RELEASED_CONSTANTS = {"c = 1/99": lambda sigma: adilova_reference.REFERENCE_C,
                      "c = sigma": lambda sigma: sigma}
_ONE_LAYER = (lambda value: isinstance(value, list) and len(value) == 1
              and isinstance(value[0], str), "a list of one layer name")
_GAUSSIAN = (lambda value: value == "gaussian",
             '"gaussian" (the study reads Gaussian-dropout runs)')


def checkpoints(workdir):
    """[(epoch, path)] of the run's `checkpoints/epoch_NNNN.keras`, by epoch.

    Raises:
        WorkdirError: the run kept no epoch checkpoint.
    """
    run = Workdir(workdir)
    found = sorted(run.epoch_checkpoints().items())
    if not found:
        raise workdir_files.WorkdirError(
            f"{run.checkpoints} holds no epoch_NNNN.keras: the run kept no "
            f"checkpoint per epoch (checkpoint_every_epochs = 0?). {run_folder.FIX}")
    return found


def evaluate_checkpoint(model, layer_name, images, seed=0):
    """Both estimates of `layer_name`'s I(X; Z) on `images`, and the activations' scale.

    Args:
        model: A classifier whose layer `layer_name` is Gaussian dropout
            (it has `stddev`).
        layer_name: That layer's name.
        images: (n, ...) inputs; n at most the released code's 1,000
            components, so that every input is a component.
        seed: Integer >= 0, seed of both estimates' noisy draws.

    Units that are 0 on every input are left out of every number (their
    count is `zero_units`): they carry no information. Where other entries
    are 0 (`zero_entries`), the released mixture's covariance is
    c (|m| + 1e-6), the offset of their known_MI.py, and the scale-only
    prediction is None (the noise of a zero is a point mass).

    Returns:
        Dict: `sigma`, `zero_units`, `zero_entries`, `mean_activation`
        (mean |m| of the other units), the package's `package`,
        `package_standard_error` and `log_n`, and `released`: for each
        label of `RELEASED_CONSTANTS`, the released code's `reference`,
        `reference_standard_error`, `bias_bound` and `predicted_reference`
        = log n + `bias_bound`, with its `c`; nats.
    """
    layer = keras_utils.network_of(model).get_layer(layer_name)
    sigma = float(layer.stddev)
    # The dropout layer's input, the representation before any noise; a
    # noise layer called as layer([features, block_inputs]) has two.
    inputs = keras_utils.layer_inputs_model(model, layer_name)(images)
    means = np.asarray(inputs[0] if isinstance(inputs, (list, tuple)) else inputs,
                       dtype=np.float64)
    means = means.reshape(len(means), -1)
    # A unit at exactly 0 on every input (a softplus whose input is below
    # about -104, 0 in float32) is constant: it carries no information,
    # and the released code's component covariance c |m| is singular on it.
    constant = np.all(means == 0, axis=0)
    means = means[:, ~constant]
    row = {"sigma": sigma, "zero_units": int(np.sum(constant)),
           "zero_entries": int(np.sum(means == 0)),
           "mean_activation": float(np.mean(np.abs(means)))}
    row.update(adilova_reference.package_estimate(means, sigma, seed + 1))
    # Other zeros (a unit at 0 for some inputs only) make the released
    # mixture singular too: known_MI.py's offset of 1e-6 keeps it finite.
    offset = adilova_reference.REFERENCE_OFFSET if row["zero_entries"] else 0.0
    row["released"] = {}
    for label, c_of_sigma in RELEASED_CONSTANTS.items():
        c = c_of_sigma(sigma)
        released = row["released"][label] = {"c": c, **adilova_reference.reference_estimate(
            means, sigma, c, seed, offset=offset)}
        released["predicted_reference"] = (None if released["bias_bound"] is None
                                           else row["log_n"] + released["bias_bound"])
    return row


def evaluate_run(workdir, num_inputs=NUM_INPUTS, seed=0):
    """`evaluate_checkpoint` at every kept epoch of a run, with its own plane rows.

    Returns:
        Dict: `layer`, `num_inputs`, `epochs` (a list of
        `evaluate_checkpoint` rows, each with its `epoch`), and
        `plane_package` ({epoch: I(X; Z)} of the run's own Gaussian-mixture
        estimate on its training subset) with its `plane_log_n`.

    Raises:
        WorkdirError: a file of the run is missing or unreadable, naming it.
    """
    config = run_folder.config(workdir, {"model.noise": _GAUSSIAN,
                                         "information_plane.layers": _ONE_LAYER,
                                         "dataset.train_split": TEXT,
                                         "information_plane.num_examples":
                                             workdir_files.integer(2)})
    layer = config["information_plane"]["layers"][0]
    batches = run_folder.test_batches(workdir, f"{config['dataset']['train_split']}"
                                      f"[:{num_inputs}]")
    images = np.concatenate([x for x, _ in batches])
    epochs = []
    for epoch, path in checkpoints(workdir):
        row = {"epoch": epoch, **evaluate_checkpoint(load_model(path), layer, images,
                                                     seed)}
        epochs.append(row)
        print(f"{os.path.basename(workdir)} epoch {epoch}: {row}", file=sys.stderr, flush=True)
    plane_rows = read_rows(os.path.join(workdir, "information_plane.json"), run_folder.FIX)
    plane_package = {row["epoch"]: row["mutual_information_x"] for row in plane_rows
                     if row["split"] == "train" and row["estimator"] == "gaussian_mixture"}
    return {"layer": layer, "num_inputs": len(images), "epochs": epochs,
            "plane_package": plane_package,
            "plane_log_n": math.log(config["information_plane"]["num_examples"])}


def _series(rows, get):
    """`get(row)` of each epoch's row as floats, None as nan."""
    return np.array([np.nan if get(row) is None else get(row) for row in rows], dtype=float)


def _stats(values, peak):
    """first / at `peak` / last / min / max of an epoch series (nan: None)."""
    stats = {"first": values[0], "at_peak": values[peak], "last": values[-1],
             "min": np.nanmin(values), "max": np.nanmax(values)}
    return {key: None if np.isnan(value) else float(value) for key, value in stats.items()}


def changes(run):
    """For each released-code variant: how its estimate, its scale-only
    prediction, the package's estimate and the mean activation move, from
    the first epoch through the estimate's largest value to the last, and
    how closely the estimate follows the prediction."""
    epochs = run["epochs"]
    package = _series(epochs, lambda row: row["package"])
    scale = _series(epochs, lambda row: row["mean_activation"])
    summary = {}
    for label in epochs[0]["released"]:
        reference = _series(epochs, lambda row: row["released"][label]["reference"])
        predicted = _series(epochs, lambda row: row["released"][label]["predicted_reference"])
        peak = int(np.nanargmax(reference))
        entry = summary[label] = {
            "peak_epoch": epochs[peak]["epoch"], "reference": _stats(reference, peak),
            "predicted_reference": _stats(predicted, peak), "package": _stats(package, peak),
            "mean_activation": _stats(scale, peak)}
        # Over the epochs with a prediction (no zero activation).
        defined = ~np.isnan(predicted)
        if np.sum(defined) > 2:
            entry["correlation_reference_predicted"] = float(
                np.corrcoef(reference[defined], predicted[defined])[0, 1])
            entry["correlation_reference_log_mean_activation"] = float(
                np.corrcoef(reference[defined], np.log(scale[defined]))[0, 1])
    return summary


def study(root, runs=RUNS, num_inputs=NUM_INPUTS, seed=0):
    started = time.time()
    results = {"num_inputs": num_inputs, "draws_per_input": adilova_reference.DRAWS_PER_INPUT,
               "runs": {}}
    for name in runs:
        run = evaluate_run(os.path.join(root, name), num_inputs, seed)
        run["changes"] = changes(run)
        results["runs"][name] = run
    results["seconds"] = time.time() - started
    return results


def figure_of(results):
    """Per run: the released estimates and their scale-only predictions; the
    package's estimates with their ceilings; the mean activation."""
    runs = results["runs"]
    figure = Figure(figsize=(14, 4 * len(runs)), layout="constrained")
    axes = figure.subplots(len(runs), 3, squeeze=False)
    for (name, run), (left, middle, right) in zip(runs.items(), axes):
        epochs = [row["epoch"] for row in run["epochs"]]
        column = lambda get: _series(run["epochs"], get)  # noqa: E731
        for index, label in enumerate(RELEASED_CONSTANTS):
            released = lambda key: column(lambda row: row["released"][label][key])  # noqa
            left.plot(epochs, released("reference"), marker=".", color=f"C{index}",
                      label=f"released code, {label}")
            left.plot(epochs, released("predicted_reference"), ":", color=f"C{index}",
                      label=f"log n + excess b(|m|), {label} (scale only)")
        left.axhline(run["epochs"][0]["log_n"], color="0.5", linewidth=3, alpha=0.4,
                     label="log n (n = {})".format(run["num_inputs"]))
        left.set_yscale("log")
        left.set_ylabel("I(X; Z) [nats]")
        left.set_title(f"{name}: the released estimator, n = {run['num_inputs']}", fontsize=9)
        left.legend(fontsize=7)
        middle.errorbar(epochs, column(lambda row: row["package"]),
                        yerr=2 * column(lambda row: row["package_standard_error"]),
                        marker=".", label=f"package, n = {run['num_inputs']}")
        middle.axhline(run["epochs"][0]["log_n"], color="C0", linestyle="--", linewidth=1)
        plane = sorted((int(epoch), value) for epoch, value in run["plane_package"].items())
        middle.plot([e for e, _ in plane], [v for _, v in plane], marker=".", color="C1",
                    label="package, the run's plane (n = 10,000)")
        middle.axhline(run["plane_log_n"], color="C1", linestyle="--", linewidth=1)
        middle.set_ylabel("I(X; Z) [nats]; dashed: log n")
        middle.set_title(f"{name}: the package's estimator", fontsize=9)
        middle.legend(fontsize=7)
        right.plot(epochs, column(lambda row: row["mean_activation"]), marker=".", color="C2")
        right.set_yscale("log")
        right.set_ylabel("mean |m|, noise-free activation")
        right.set_title(f"{name}: the activations' scale", fontsize=9)
        for axis in (left, middle, right):
            axis.set_xlabel("epoch")
    figure.suptitle("Row 4's Gaussian-dropout networks: Adilova et al.'s released estimator "
                    "against the true mixture, epoch by epoch")
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m infodropout_tf.results.plane_reference",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True,
                        help=f"folder of the plane sweep's runs ({', '.join(RUNS)})")
    parser.add_argument("--out", required=True, help="folder of plane_reference.json and .png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        seed = _validation.non_negative_int("seed", args.seed)
    except ValueError as error:
        parser.error(str(error))
    plots.output_folder(parser, args.out)
    try:
        results = study(args.root, seed=seed)
    except workdir_files.WorkdirError as error:
        sys.exit(f"error: {error}")
    except OSError as error:  # a run, or its config.json, is not there
        sys.exit(f"error: cannot read {error.filename}: {error.strerror}. Train the runs "
                 f"first: infodropout-reproduce run plane --root {args.root}")
    plots.write(args.out, "plane_reference", results, figure_of(results))


if __name__ == "__main__":
    main()
