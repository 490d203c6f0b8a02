"""The information-plane rows of docs/results.md: dropout networks'
trajectories (Adilova et al.) and the surrogate IB penalties' (Kirsch,
Lyle & Gal).

Both read the rows the trainer's information-plane callback wrote
(`information_plane.json`, through `information.plane.read_rows`) rather
than estimating anything again.
"""

import math
import os

from matplotlib.figure import Figure

from infodropout_tf import workdir_files
from infodropout_tf.information.plane import read_rows
from infodropout_tf.information.plane_plot import draw_log_n
from infodropout_tf.information.plane_plot import plot_information_plane
from infodropout_tf.results import plots
from infodropout_tf.results import run_folder
from infodropout_tf.workdir_files import NUMBER
from infodropout_tf.workdir_files import TEXT
from infodropout_tf.workdir_files import integer


def plane(finished, output):
    """Information-plane trajectories of each network and noise, with the
    log n ceiling of the mixture and binning estimates (Adilova et al.
    Figs. 1 and 5)."""
    rows, ceilings, summary = [], {}, {}
    for run, workdir in finished:
        config = run_folder.config(workdir, {"model.name": TEXT, "model.noise": TEXT,
                                             "information_plane.num_examples": integer(1)})
        model = config["model"]
        examples = config["information_plane"]["num_examples"]
        # One panel per network and estimator: name the layer after the run.
        label = f"{model['name']}, {model['noise']} dropout"
        run_rows = read_rows(os.path.join(workdir, "information_plane.json"), run_folder.FIX)
        rows += [{**row, "layer": label} for row in run_rows]
        ceilings[label] = math.log(examples)
        entry = summary[run.name] = {"network": model["name"], "noise": model["noise"],
                                     "num_examples": examples, "log_n": ceilings[label],
                                     "test_error": run_folder.metrics(
                                         workdir, "deterministic_error")["deterministic_error"]}
        for estimator in sorted({row["estimator"] for row in run_rows}):
            train = sorted((r for r in run_rows
                            if r["estimator"] == estimator and r["split"] == "train"),
                           key=lambda r: r["epoch"])
            entry[estimator] = {
                "epochs": [r["epoch"] for r in train],
                "mutual_information_x": [r["mutual_information_x"] for r in train],
                "mutual_information_y": [r["mutual_information_y"] for r in train],
                "relative_to_prior_constant": any(r["relative_to_prior_constant"] for r in train)}
    plot_information_plane(rows, os.path.join(output, "plane.png"), ceilings)  # atomic
    plots.write(output, "plane", summary)


def surrogate(finished, output):
    """Information-plane trajectories under the surrogate IB penalties
    (Kirsch, Lyle & Gal, Fig. 1): preserved I(X; Z') against residual
    H(Z'|Y) per epoch, one panel per penalty, one line per gamma."""
    summary = {"protocol": "training examples of the information-plane callback; I(X; Z') = "
                           "H(Z') and H(Z'|Y) by the Gaussian mixture with the zero-entropy "
                           "noise; test error with the noise off",
               "runs": {}}
    for run, workdir in finished:
        penalty = run.overrides["model.surrogate"]
        gamma = run.overrides["model.surrogate_weight"]
        path = os.path.join(workdir, "information_plane.json")
        rows = [row for row in read_rows(path, run_folder.FIX)
                if row["split"] == "train" and "residual_information" in row]
        workdir_files.check_items(path, rows, {"residual_information": NUMBER}, run_folder.FIX)
        examples = run_folder.config(
            workdir, {"information_plane.num_examples": integer(1)})[
                "information_plane"]["num_examples"]
        summary["runs"].setdefault(penalty, {})[str(gamma)] = {
            "num_examples": examples, "log_n": math.log(examples),
            "epochs": [row["epoch"] for row in rows],
            "preserved": [row["mutual_information_x"] for row in rows],
            "residual": [row["residual_information"] for row in rows],
            "test_error": run_folder.metrics(workdir, "deterministic_error")["deterministic_error"]}
    baseline = summary["runs"].get("none", {}).get("0.0")
    panels = [name for name in summary["runs"] if name != "none"] or ["none"]
    figure = Figure(figsize=(4.5 * len(panels), 4), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, penalty in zip(axes, panels):
        if baseline is not None:
            axis.plot(baseline["preserved"], baseline["residual"], color="gray", marker=".",
                      label=f"gamma 0 ({100 * baseline['test_error']:.1f}%)")
        by_gamma = summary["runs"][penalty]
        for gamma in sorted(by_gamma, key=float):
            values = by_gamma[gamma]
            if penalty != "none":
                axis.plot(values["preserved"], values["residual"], marker=".",
                          label=f"gamma {float(gamma):g} ({100 * values['test_error']:.1f}%)")
            # The last epoch, to read where each trajectory ends.
            axis.plot(values["preserved"][-1:], values["residual"][-1:], marker="o",
                      color=axis.lines[-1].get_color())
        # The mixture over n examples cannot exceed log n.
        for log_n in sorted({values["log_n"] for values in by_gamma.values()}):
            draw_log_n(axis, log_n)
        axis.set_xlabel("preserved information I(X; Z') [nats]")
        axis.set_ylabel("residual information H(Z'|Y) [nats]")
        axis.set_title(penalty)
        axis.legend(fontsize=8, title="test error", title_fontsize=8)
    figure.suptitle("LeNet on MNIST, surrogate IB objectives (Kirsch, Lyle & Gal, Fig. 1)")
    plots.write(output, "surrogate", summary, figure)
