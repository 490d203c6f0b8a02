"""The numbers and figures of docs/results.md, read from finished runs.

One function per row of the results page. Each takes the row's finished
runs, as `(sweeps.Run, workdir)` pairs, and the output folder, and writes
`<row>.json` (the numbers quoted on the page) and `<row>.png` there; the
runs are told apart by their overrides, so a row reports whichever of its
runs have finished. `infodropout-reproduce report ROW` calls them. The
rows of `SHOW_UNFINISHED_RUNS` also take the runs that have not finished
yet, as the keyword `unfinished`.

Figures are drawn on `matplotlib.figure.Figure` objects, not pyplot, so a
caller's backend and open figures are left alone, and every file is written
aside and renamed (`atomic_files`).
"""

import json
import math
import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from infodropout_tf import atomic_files
from infodropout_tf import workdir_files
from infodropout_tf.workdir_files import NUMBER
from infodropout_tf.workdir_files import OBJECT
from infodropout_tf.workdir_files import TEXT
from infodropout_tf.workdir_files import integer

# VAE test lower bounds of paper Table 1, nats, per width multiplier k.
PAPER_VAE = {"k1": {"gaussian": -98.8, "information_dropout": -100.0},
             "k2": {"gaussian": -99.0, "information_dropout": -99.1},
             "k3": {"gaussian": -98.7, "information_dropout": -99.1}}


# What to do about a run's file that cannot be read or holds values out of
# range: the report reads only what the trainer wrote.
_FIX = ("Restore it from a copy, or delete the run's workdir and rerun `infodropout-reproduce "
        "run` to train it again.")


def read_json(path, fields=None):
    """The JSON object in `path`, with `fields` ({name: (check, expected)},
    `workdir_files.check_fields`) checked.

    Raises:
        WorkdirError: the file is not such an object; the message names it
            and the field.
        OSError: it cannot be read.
    """
    document = workdir_files.read_json(path, _FIX)
    workdir_files.check_fields(path, document, fields or {}, _FIX)
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
    names, rows, _ = workdir_files.read_csv(path, _FIX, numeric=True)
    names = names or []  # none in an empty file
    missing = [column for column in columns if names and column not in names]
    if missing:
        raise workdir_files.WorkdirError(f"{path} has no column {', '.join(missing)}. {_FIX}")
    by_epoch = {int(row["epoch"]): row for row in rows}
    epochs = sorted(by_epoch)
    return {name: np.array([by_epoch[e][name] for e in epochs]) for name in names}


def _metrics(workdir, *names):
    """metrics.json of a run, whose `names` must be numbers."""
    return read_json(os.path.join(workdir, "metrics.json"), dict.fromkeys(names, NUMBER))


def _config(workdir, fields):
    """config.json of a run, whose `fields` must pass their checks."""
    return read_json(os.path.join(workdir, "config.json"), fields)


def _model(workdir):
    """The run's `model.keras` (one `WorkdirError` line if unreadable)."""
    from infodropout_tf.training.evaluate import load_model

    return load_model(os.path.join(workdir, "model.keras"))


def _by_value(finished, field):
    """[(value of override `field`, workdir)] of the finished runs, sorted by value."""
    return sorted(((run.overrides[field], workdir) for run, workdir in finished),
                  key=lambda pair: pair[0])


def _test_batches(workdir, split, batch_size=500, as_dict=False):
    """Numpy batches of `split` of the dataset a run trained on, as its trainer read it.

    They come from the trainer's own `experiment.load_split` on the run's
    config.json, not from a second reading of its dataset fields: that way
    a report sees the labels the run was trained on (`dataset.label_key`,
    e.g. an occlusion run's nuisance labels) and its binarisation
    (`dataset.binarization`, seeded by `seed`), and any change to how the
    trainer reads its data reaches the reports too.
    """
    import ml_collections
    import tensorflow_datasets as tfds

    from infodropout_tf.training import experiment

    path = os.path.join(workdir, "config.json")
    # The fields `load_split` reads, checked so that a damaged file is one line.
    stored = _config(workdir, {"dataset.name": TEXT, "dataset.data_dir": TEXT,
                               "dataset.label_key": TEXT, "dataset.binarization": TEXT,
                               "dataset.options": OBJECT, "seed": integer(0),
                               "strategy": TEXT})
    try:
        batches = experiment.load_split(ml_collections.ConfigDict(stored), split, batch_size,
                                        training=False, as_dict=as_dict)
    except ValueError as error:  # every argument but the split comes from config.json
        raise workdir_files.WorkdirError(f"{path}: {error} {_FIX}") from error
    return list(tfds.as_numpy(batches))


def scalar_history(log_dir, tag):
    """{step: value} of the scalar `tag` in the TensorBoard event files of `log_dir`.

    A step written again (an epoch repeated after a resume) keeps its last
    value.
    """
    import tensorflow as tf

    history = {}
    for name in sorted(os.listdir(log_dir)):  # event files are named by their start time
        if ".tfevents." not in name:
            continue
        path = os.path.join(log_dir, name)
        try:
            for record in tf.data.TFRecordDataset(path):
                event = tf.compat.v1.Event.FromString(record.numpy())
                for value in event.summary.value:
                    if value.tag == tag:
                        history[event.step] = float(tf.make_ndarray(value.tensor))
        except tf.errors.DataLossError as error:
            raise workdir_files.UnreadableFileError(
                f"{path} is damaged ({error.message}). {_FIX}") from error
    return dict(sorted(history.items()))


def _log_beta_axis(axis, betas):
    axis.set_xscale("log")
    axis.set_xticks(betas, [f"{beta:g}" for beta in betas])
    axis.minorticks_off()
    axis.set_xlabel("beta")


def _write(output, row, summary, figure=None):
    """Writes `output/<row>.json` and, given a figure, `output/<row>.png`."""
    atomic_files.write_json(os.path.join(output, f"{row}.json"), summary)
    if figure is not None:
        atomic_files.write_with(os.path.join(output, f"{row}.png"),
                                lambda temporary: figure.savefig(temporary, dpi=100,
                                                                 format="png"))
    print(json.dumps(summary, indent=1))


# A latent unit is active when it carries more than this many nats on
# average over the test images; the trained VAEs' units fall into two groups
# far either side of it (docs/results.md, row 1).
ACTIVE_UNIT_KL = 0.05


def _vae_latent(workdir):
    """The latent of a trained VAE on the first 1,000 test images.

    The data that explain how the information-dropout VAE's bound compares
    with the Gaussian VAE's.

    Returns:
        `(summary, unit_kl, alpha)`. `summary` holds the number of active
        units (mean KL above `ACTIVE_UNIT_KL`), the KL of the active and of
        the idle units and, for the information-dropout latent, under
        `"latent"`, the learned prior's mu and sigma, the mean alpha of the
        active and of the idle units, the cap of alpha (`alpha_upper`,
        max_alpha plus the layer's margin), quantiles of alpha and the share
        of alphas within 1% of the cap. `unit_kl` is the mean KL per unit, largest first;
        `alpha` every alpha of the information-dropout latent, flattened
        (None for the Gaussian latent).
    """
    from tensorflow_probability import distributions as tfd

    model = _model(workdir)
    images = np.concatenate([x for x, _ in _test_batches(workdir, "test[:1000]")])
    # Over u = log z for the information-dropout latent: the KL is the same.
    posterior, prior, _ = model.latent_distributions(model.encoder(images, training=False))
    unit_kl = np.asarray(tfd.kl_divergence(posterior, prior)).mean(axis=0)
    active = unit_kl > ACTIVE_UNIT_KL
    active_kl, idle_kl = unit_kl[active], unit_kl[~active]
    summary = {"active_units": int(active.sum()),
               "kl_in_active_units": float(active_kl.sum()),
               "kl_in_idle_units": float(idle_kl.sum()),
               # How far from the threshold the two groups lie.
               "weakest_active_unit_kl": float(active_kl.min()) if active_kl.size else None,
               "strongest_idle_unit_kl": float(idle_kl.max()) if idle_kl.size else None}
    if model.latent_type == "gaussian":
        return summary, np.sort(unit_kl)[::-1], None
    alpha = np.asarray(posterior.scale)
    alpha_upper = float(model.latent.alpha_upper)
    summary["latent"] = {
        "prior_mu": float(np.asarray(model.latent.prior.mu)),
        "prior_sigma": float(np.asarray(model.latent.prior.sigma)),
        "mean_alpha_of_active_units": float(alpha[:, active].mean()) if active_kl.size else None,
        "mean_alpha_of_idle_units": float(alpha[:, ~active].mean()) if idle_kl.size else None,
        "alpha_upper": alpha_upper,
        "alpha_quantiles": {f"{q:g}": float(np.quantile(alpha, q))
                            for q in (0.05, 0.25, 0.5, 0.75, 0.95)},
        "alpha_share_at_cap": float(np.mean(alpha > 0.99 * alpha_upper))}
    return summary, np.sort(unit_kl)[::-1], alpha.ravel()


def _test_elbo_curve(log):
    """The test ELBO after each epoch, from a VAE's training log."""
    return -(log["val_reconstruction"] + log["val_kl"])


def vae(finished, output, unfinished=()):
    """Test bounds of the Gaussian and information-dropout VAEs per width
    multiplier k and binarisation of the training images, their curves,
    and their latents: active units, the information-dropout latent's prior
    and alphas (Table 1).

    `unfinished` runs (still training, or interrupted) enter at the last
    epoch they logged, marked `"finished": false` with the epochs of their
    schedule: their test ELBO from the training log, no importance-weighted
    bound or latent analysis, and no comparison with the paper's bound
    after 300 epochs. When an entry has both latents but not both finished,
    their gap is taken at the last epoch both logged, beside the k = 1 gap
    at that epoch.
    """
    summary = {"protocol": "training images binarised anew each epoch (entries k<k>) or once, "
                           "seeded (entries k<k>_static), test images binarised once (seeded); "
                           "ELBO = minus the test negative ELBO with the closed-form KL, one "
                           "latent sample per test image; IWAE = the importance-weighted bound "
                           "with iwae_samples samples on the first iwae_examples test images",
               "paper": PAPER_VAE}
    runs = {}  # (k, static binarisation?) -> latent -> (workdir, training log, finished?)
    for pairs, done in ((finished, True), (unfinished, False)):
        for run, workdir in pairs:
            log = read_training_log(workdir, ("val_reconstruction", "val_kl"))
            if not done and len(log.get("epoch", ())) == 0:
                continue  # started, but not one epoch logged yet (Keras's CSVLogger
                # creates the file empty and writes its header after the first epoch)
            static = run.overrides.get("dataset.binarization", "dynamic") == "static"
            runs.setdefault((run.overrides["model.width_multiplier"], static), {})[
                run.overrides["model.latent"]] = (workdir, log, done)
    entries = sorted(runs)
    figure = Figure(figsize=(4.5 * (len(entries) + 2), 4), layout="constrained")
    axes = figure.subplots(1, len(entries) + 2, squeeze=False)[0]
    alpha_axis, units_axis = axes[-2:]
    curves = {}  # (k, static) -> latent -> test ELBO per epoch
    for axis, (k, static), linestyle in zip(axes, entries, ("-", "--", ":", "-.")):
        row = summary[f"k{k}_static" if static else f"k{k}"] = {}
        name = f"k = {k}, static" if static else f"k = {k}"
        curves[k, static] = {}
        for latent, color in (("gaussian", "C0"), ("information_dropout", "C1")):
            if latent not in runs[k, static]:
                continue
            workdir, log, done = runs[k, static][latent]
            curve = curves[k, static][latent] = _test_elbo_curve(log)
            axis.plot(log["epoch"] + 1, curve, color=color, marker="." if len(curve) < 10 else None,
                      label=f"{latent} (here)")
            axis.axhline(PAPER_VAE[f"k{k}"][latent], color=color, linestyle="--",
                         label=f"{latent} (paper)")
            config = _config(workdir, {"num_epochs": integer(1), "iwae_samples": integer(1),
                                       "iwae_examples": integer(1)})
            if not done:
                row[latent] = {"finished": False, "epochs": len(log["epoch"]),
                               "of_epochs": config["num_epochs"], "elbo": float(curve[-1]),
                               "reconstruction": float(log["val_reconstruction"][-1]),
                               "kl": float(log["val_kl"][-1])}
                continue
            metrics = _metrics(workdir, "reconstruction", "kl", "iwae_log_likelihood")
            # The ELBO is -(reconstruction + KL): `loss` weights the KL by beta.
            row[latent] = {"epochs": len(log["epoch"]),
                           "elbo": -(metrics["reconstruction"] + metrics["kl"]),
                           "reconstruction": metrics["reconstruction"], "kl": metrics["kl"],
                           "iwae": metrics["iwae_log_likelihood"],
                           "iwae_samples": config["iwae_samples"],
                           "iwae_examples": config["iwae_examples"]}
            latent_summary, unit_kl, alpha = _vae_latent(workdir)
            row[latent].update(latent_summary)
            units_axis.plot(np.arange(1, unit_kl.size + 1), unit_kl, color=color,
                            linestyle=linestyle, label=f"{latent}, {name}")
            if alpha is not None:
                alpha_axis.hist(alpha, bins=50, range=(0, latent_summary["latent"]["alpha_upper"]),
                                histtype="step", linestyle=linestyle, label=name)
        all_done = all(done for _, _, done in runs[k, static].values())
        if len(row) == 2 and all_done:
            row["information_dropout_minus_gaussian"] = (
                row["information_dropout"]["elbo"] - row["gaussian"]["elbo"])
        elif len(row) == 2:
            epochs = min(len(curve) for curve in curves[k, static].values())
            row["at_common_epoch"] = _vae_gap(curves[k, static], epochs)
            first = curves.get((1, static), {})
            if k != 1 and len(first) == 2 and all(
                    len(curve) >= epochs for curve in first.values()):
                row["at_common_epoch"]["k1_information_dropout_minus_gaussian"] = (
                    _vae_gap(first, epochs)["information_dropout_minus_gaussian"])
        if "gaussian" in row and row["gaussian"].get("finished", True):
            row["gaussian_minus_paper"] = row["gaussian"]["elbo"] - PAPER_VAE[f"k{k}"]["gaussian"]
        axis.set_ylim(-115, -90)
        axis.set_xlabel("epoch")
        axis.set_ylabel("test ELBO [nats]")
        axis.set_title(f"k = {k}: {512 * k} hidden, {256 * k} latent units"
                       + (",\nstatic binarisation" if static else "")
                       + ("" if all_done else ",\nnot all finished"))
        axis.legend(loc="lower right")
    alpha_axis.set_xlabel("alpha (1,000 test images)")
    alpha_axis.set_ylabel("units x images")
    alpha_axis.set_title("noise scale, information-dropout latent")
    units_axis.axhline(ACTIVE_UNIT_KL, color="gray", linewidth=0.8, label="active above")
    units_axis.set_yscale("log")
    units_axis.set_xscale("log")
    units_axis.set_xlabel("latent unit, by mean KL")
    units_axis.set_ylabel("mean KL per unit [nats]")
    units_axis.set_title("KL per latent unit (1,000 test images)")
    units_axis.legend(fontsize=8)
    if alpha_axis.has_data():
        alpha_axis.legend()
    figure.suptitle("VAE on binarised MNIST (paper Table 1)")
    _write(output, "vae", summary, figure)


def _vae_gap(curves, epochs):
    """Both latents' test ELBO after `epochs` epochs, and their gap."""
    gaussian = float(curves["gaussian"][epochs - 1])
    information = float(curves["information_dropout"][epochs - 1])
    return {"epochs": epochs, "gaussian_elbo": gaussian, "information_dropout_elbo": information,
            "information_dropout_minus_gaussian": information - gaussian}


# Burda et al.'s criterion: a Gaussian latent unit is active when its
# posterior mean varies over the data, Var_x E[z_j | x] > 0.01; the others
# have collapsed to the prior.
ACTIVE_UNIT_VARIANCE = 0.01


def _latent_total_correlation(model, images, seed=0):
    """Gaussian TC per unit of a VAE's code on `images` (paper section 7).

    `total_correlation` is that of the code the decoder reads, one noise
    draw per image: z = mu + sigma eps for the Gaussian latent, the noisy
    log-activations for the information-dropout latent. For the Gaussian
    latent also that of the posterior means mu, over all units and over the
    active ones only (per active unit), and the number of active units:
    collapsed units carry almost constant means whose residual wiggles are
    strongly correlated, which inflates the TC of all the means.
    """
    from infodropout_tf.information import log_activation_total_correlation
    from infodropout_tf.information import total_correlation

    hidden = model.encoder(images, training=False)
    if model.latent_type != "gaussian":
        features = model.latent_features(hidden)
        alpha = model.latent.noise_scale([features, hidden])
        return {"units": features.shape[-1], "total_correlation":
                log_activation_total_correlation(np.asarray(features), np.asarray(alpha),
                                                 seed=seed)}
    posterior = model.latent.posterior(hidden)
    means = np.asarray(posterior.mean(), np.float64)
    noise = np.random.default_rng(seed).standard_normal(means.shape)
    code = means + np.asarray(posterior.stddev(), np.float64) * noise
    active = means.var(axis=0) > ACTIVE_UNIT_VARIANCE
    return {"units": means.shape[1], "total_correlation": float(total_correlation(code)),
            "total_correlation_of_means": float(total_correlation(means)),
            "active_units": int(active.sum()),
            "total_correlation_of_active_means":
                float(total_correlation(means[:, active])) if active.sum() > 1 else None}


def beta_vae(finished, output):
    """Rate (KL) against distortion (reconstruction) and the code's total
    correlation, per latent and beta (paper Eq. 7)."""
    from infodropout_tf.information import total_correlation

    images = np.concatenate([x for x, _ in _test_batches(finished[0][1], "test")])
    summary = {"protocol": "on the 10,000 test images: reconstruction (distortion) and KL "
                           "(rate) in nats per image, and Gaussian total correlation per unit "
                           "of the code with one noise draw per image (Gaussian latent: "
                           "z = mu + sigma eps; information-dropout latent: the noisy "
                           "log-activations) and, for the Gaussian latent, of the posterior "
                           "means, all and active (Var_x mu_j > 0.01) ones",
               "runs": {}}
    for run, workdir in sorted(finished, key=lambda pair: pair[0].overrides["model.beta"]):
        latent, beta = run.overrides["model.latent"], run.overrides["model.beta"]
        metrics = _metrics(workdir, "reconstruction", "kl")
        model = _model(workdir)
        summary["runs"].setdefault(latent, {})[str(beta)] = {
            "distortion": metrics["reconstruction"], "rate": metrics["kl"],
            "elbo": -(metrics["reconstruction"] + metrics["kl"]),
            **_latent_total_correlation(model, images)}
    units = max(point["units"] for by_beta in summary["runs"].values()
                for point in by_beta.values())
    # The value for independent Gaussian units on as many samples: the
    # estimate's own bias, below which no code can read.
    summary["independent_units_total_correlation"] = float(total_correlation(
        np.random.default_rng(0).standard_normal((len(images), units))))
    figure = Figure(figsize=(14, 4), layout="constrained")
    curve_axis, tc_axis, means_axis = figure.subplots(1, 3)
    for latent, by_beta in summary["runs"].items():
        betas = [float(beta) for beta in by_beta]
        points = list(by_beta.values())
        curve_axis.plot([p["rate"] for p in points], [p["distortion"] for p in points],
                        marker="o", label=latent)
        for beta, point in zip(betas, points):
            curve_axis.annotate(f"{beta:g}", (point["rate"], point["distortion"]), fontsize=8,
                                textcoords="offset points", xytext=(3, 3))
        tc_axis.plot(betas, [p["total_correlation"] for p in points], marker="o", label=latent)
        if latent == "gaussian":
            means_axis.plot(betas, [p["total_correlation_of_active_means"] for p in points],
                            marker="o", label="active units' means")
            means_axis.plot(betas, [p["total_correlation_of_means"] for p in points],
                            marker="o", linestyle="--", label="all units' means")
            count_axis = means_axis.twinx()
            count_axis.plot(betas, [p["active_units"] for p in points], marker="s",
                            color="0.5", label="active units")
            count_axis.set_ylabel("active units (gray squares)")
    tc_axis.axhline(summary["independent_units_total_correlation"], color="0.4",
                    linestyle="--", linewidth=1, label="independent units")
    curve_axis.set_xlabel("rate: KL [nats per image]")
    curve_axis.set_ylabel("distortion: reconstruction [nats per image]")
    curve_axis.set_title("beta beside each point")
    tc_axis.set_title("the code, one noise draw per image")
    means_axis.set_title("Gaussian latent: posterior means")
    for axis in (tc_axis, means_axis):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("beta")
        axis.set_ylabel("total correlation [nats per unit]")
    tc_axis.set_yscale("log")
    for axis in (curve_axis, tc_axis):
        axis.legend(fontsize=8)
    means_axis.legend(fontsize=8, loc="upper center")  # clear of the unit counts
    figure.suptitle("beta-VAE on binarised MNIST, k = 1")
    _write(output, "beta_vae", summary, figure)


def mlp_width(finished, output):
    """Mean and spread over seeds of the MLP's test error per noise and width
    (Fig. 3a), with each seed's error: at the paper's learning rate some
    noisy networks stop learning, which a mean and spread hide."""
    errors = {}  # noise -> width -> {seed: error}, in the sweep's order
    epochs = set()
    for run, workdir in finished:
        noise, width = run.overrides["model.noise"], run.overrides["model.width"]
        errors.setdefault(noise, {}).setdefault(width, {})[run.overrides["seed"]] = (
            _metrics(workdir, "deterministic_error")["deterministic_error"])
        epochs.add(_config(workdir, {"num_epochs": integer(1)})["num_epochs"])
    summary = {"metric": "test error, deterministic representation, after "
                         f"{' or '.join(str(e) for e in sorted(epochs))} epochs",
               "errors": {}}
    figure = Figure(figsize=(6, 4), layout="constrained")
    axis = figure.subplots()
    for index, (noise, by_width) in enumerate(errors.items()):
        widths = sorted(by_width)
        per_seed = [list(by_width[w].values()) for w in widths]
        mean = np.array([np.mean(e) for e in per_seed])
        std = np.array([np.std(e) for e in per_seed])
        color = f"C{index}"
        axis.errorbar(widths, 100 * mean, yerr=100 * std, marker="o", capsize=3, color=color,
                      label=noise)
        for width, seed_errors in zip(widths, per_seed):
            axis.scatter([width] * len(seed_errors), 100 * np.array(seed_errors), color=color,
                         marker="x", s=12, alpha=0.6)
        summary["errors"][noise] = {
            str(w): {"mean": float(m), "std": float(s), "seeds": len(by_width[w]),
                     "per_seed": {str(seed): error for seed, error in sorted(by_width[w].items())}}
            for w, m, s in zip(widths, mean, std)}
    all_widths = sorted({w for by_width in errors.values() for w in by_width})
    axis.set_xscale("log", base=2)
    axis.set_xticks(all_widths, [str(w) for w in all_widths])
    # Log scale: the errors span from about 1% to chance (90%).
    axis.set_yscale("log")
    axis.set_xlabel("hidden units per layer")
    axis.set_ylabel("test error [%] (x: each seed)")
    axis.axhline(90, color="gray", linestyle=":", label="chance")
    axis.set_title("MNIST MLP, 3 hidden layers (paper Fig. 3a)")
    axis.legend(loc="best", fontsize=8)
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
    """Share of each layer's KL inside the digit's box, and KL maps (Fig. 2).

    The figure shows the same test images for every beta: one row per beta
    (its test error beside it), and for each image the input with the
    digit's box in red, then one column per information-dropout layer.
    """
    from infodropout_tf.information import kl_mass_inside_boxes

    runs = _by_value(finished, "model.beta")
    batches = _test_batches(runs[0][1], "test", as_dict=True)
    size = batches[0]["image"].shape[1]
    boxes = np.concatenate([b["digit_box"] for b in batches])
    box_area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / size**2
    summary = {"test_examples": len(boxes), "box_area_fraction": float(box_area.mean()),
               "kl_mass_inside_box": {}, "test_error": {}, "noisy_test_error": {}}
    num_examples = 2  # shown in the figure, the first of the test set
    maps_of = {}
    for beta, workdir in runs:
        model = _model(workdir)
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
        metrics = _metrics(workdir, "deterministic_error", "noisy_error")
        summary["test_error"][str(beta)] = metrics["deterministic_error"]
        summary["noisy_test_error"][str(beta)] = metrics["noisy_error"]

    layers = sorted(next(iter(maps_of.values())))
    columns = num_examples * (1 + len(layers))
    figure = Figure(figsize=(1.6 * columns, 1.8 * len(maps_of) + 0.6), layout="constrained")
    axes = figure.subplots(len(maps_of), columns, squeeze=False)
    for row, (beta, maps) in enumerate(maps_of.items()):
        for example in range(num_examples):
            column = example * (1 + len(layers))
            axes[row, column].imshow(batches[0]["image"][example, ..., 0], cmap="gray")
            top, left, bottom, right = batches[0]["digit_box"][example]
            axes[row, column].add_patch(Rectangle((left - 0.5, top - 0.5), right - left,
                                                  bottom - top, fill=False, edgecolor="red"))
            axes[row, column].set_ylabel(
                f"beta {beta:g}\nerror {100 * summary['test_error'][str(beta)]:.1f}%",
                fontsize=9)
            for offset, layer in enumerate(layers, start=1):
                axes[row, column + offset].imshow(maps[layer][example], cmap="viridis")
                if row == 0:
                    axes[row, column + offset].set_title(layer, fontsize=9)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle("Cluttered MNIST: KL per position above its minimum (channels summed), "
                    "paper Fig. 2")
    _write(output, "cluttered", summary, figure)


def occlusion(finished, output):
    """Main and nuisance (occluder) test errors against beta (Fig. 4).

    The nuisance error of each probe a run was tested with: the trainer's
    (`metrics.json`) and, where `infodropout-evaluate` tested it again with
    another `nuisance.probe`, that one's (`evaluation.json`).
    """
    summary = {"protocol": "main error: the digit behind the occluder, noise off (deterministic) "
                           "or on (noisy, averaged over samples); nuisance error: a classifier "
                           "of the occluding digit (probe: mlp or conv) trained on the frozen "
                           "noisy output of the last information-dropout layer, tested with "
                           "the noise off; chance is 0.9",
               "errors": {}}
    runs = _by_value(finished, "model.beta")
    for beta, workdir in runs:
        metrics = _metrics(workdir, "deterministic_error", "noisy_error", "nuisance_error")
        errors = summary["errors"][str(beta)] = {
            key: metrics[key] for key in ("deterministic_error", "noisy_error")}
        evaluation = os.path.join(workdir, "evaluation.json")
        for results in [metrics] + ([read_json(evaluation, {"nuisance_error": NUMBER})]
                                    if os.path.exists(evaluation) else []):
            # Runs from before the probe was a choice used the MLP.
            errors[f"nuisance_error_{results.get('nuisance_probe', 'mlp')}"] = (
                results["nuisance_error"])
    betas = [beta for beta, _ in runs]
    figure = Figure(figsize=(6, 4), layout="constrained")
    axis = figure.subplots()
    for key, label in (("deterministic_error", "main digit, deterministic"),
                       ("noisy_error", "main digit, noisy"),
                       ("nuisance_error_mlp", "occluder (nuisance), MLP probe"),
                       ("nuisance_error_conv", "occluder (nuisance), conv probe")):
        measured = [b for b in betas if key in summary["errors"][str(b)]]
        if measured:
            axis.plot(measured, [100 * summary["errors"][str(b)][key] for b in measured],
                      marker="o", label=label)
    axis.axhline(90, color="gray", linestyle=":", label="chance")
    _log_beta_axis(axis, betas)
    axis.set_ylabel("test error [%]")
    axis.set_title("Occluded MNIST, All-CNN-32 (paper Fig. 4)")
    axis.legend()
    _write(output, "occlusion", summary, figure)


def _last_lognormal_layer(model):
    """The KL-map function of the model's last information-dropout layer with
    the log-normal prior, or None."""
    from infodropout_tf.per_unit_kl import kl_map_functions
    from infodropout_tf.priors import LogNormalPrior

    functions = [f for f in kl_map_functions(model).values()
                 if isinstance(getattr(f.layer, "prior", None), LogNormalPrior)]
    return functions[-1] if functions else None


def disentangle(finished, output):
    """Test error and total correlation of the representation against beta (Fig. 5)."""
    from infodropout_tf.information import log_activation_total_correlation

    num_images = 1000
    runs = _by_value(finished, "model.beta")
    images = np.concatenate([images for images, _ in
                             _test_batches(runs[0][1], f"test[:{num_images}]")])
    summary = {"protocol": f"total correlation per unit, -1/2 log det of the correlation of the "
                           f"last information-dropout layer's noisy log-activations across its "
                           f"channels, every position of the first {num_images} test images a "
                           f"sample",
               "runs": {}}
    for beta, workdir in runs:
        model = _model(workdir)
        function = _last_lognormal_layer(model)
        if function is None:
            raise ValueError(f"{workdir}: the model has no information-dropout layer with the "
                             "log-normal prior; train it with model.activation=softplus.")
        layer_inputs = function.layer_inputs(images)  # f(x), or [f(x), block inputs]
        alpha = np.asarray(function.layer.noise_scale(layer_inputs))
        features = layer_inputs[0] if isinstance(layer_inputs, (list, tuple)) else layer_inputs
        metrics = _metrics(workdir, "deterministic_error", "noisy_error")
        summary["runs"][str(beta)] = {
            "layer": function.layer.name,
            "total_correlation": log_activation_total_correlation(np.asarray(features), alpha),
            "deterministic_error": metrics["deterministic_error"],
            "noisy_error": metrics["noisy_error"]}
    betas = [beta for beta, _ in runs]
    values = [summary["runs"][str(b)] for b in betas]
    figure = Figure(figsize=(10, 4), layout="constrained")
    error_axis, tc_axis = figure.subplots(1, 2)
    for key, label in (("deterministic_error", "deterministic"), ("noisy_error", "noisy")):
        error_axis.plot(betas, [100 * v[key] for v in values], marker="o", label=label)
    error_axis.set_yscale("log")
    error_axis.set_ylabel("test error [%]")
    error_axis.legend()
    tc_axis.plot(betas, [v["total_correlation"] for v in values], marker="o")
    tc_axis.set_ylabel("total correlation [nats per unit]")
    for axis in (error_axis, tc_axis):
        _log_beta_axis(axis, betas)
    figure.suptitle(f"All-CNN-32, softplus, log-normal prior, on MNIST: "
                    f"{values[0]['layer']} (paper Fig. 5)")
    _write(output, "disentangle", summary, figure)


def plane(finished, output):
    """Information-plane trajectories of each network and noise, with the
    log n ceiling of the mixture and binning estimates (Adilova et al.
    Figs. 1 and 5)."""
    from infodropout_tf.information.plane_plot import plot_information_plane
    from infodropout_tf.information.plane import read_rows

    rows, ceilings, summary = [], {}, {}
    for run, workdir in finished:
        config = _config(workdir, {"model.name": TEXT, "model.noise": TEXT,
                                   "information_plane.num_examples": integer(1)})
        model = config["model"]
        examples = config["information_plane"]["num_examples"]
        # One panel per network and estimator: name the layer after the run.
        label = f"{model['name']}, {model['noise']} dropout"
        run_rows = read_rows(os.path.join(workdir, "information_plane.json"), _FIX)
        rows += [{**row, "layer": label} for row in run_rows]
        ceilings[label] = math.log(examples)
        entry = summary[run.name] = {"network": model["name"], "noise": model["noise"],
                                     "num_examples": examples, "log_n": ceilings[label],
                                     "test_error": _metrics(workdir, "deterministic_error")[
                                         "deterministic_error"]}
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
    _write(output, "plane", summary)


def _information_flow(workdir):
    """{layer: {"total", "per_unit"}} of a run's information_flow.json."""
    path = os.path.join(workdir, "information_flow.json")
    layers = read_json(path, {"layers": OBJECT})["layers"]
    for layer, values in layers.items():
        workdir_files.check_fields(path, {"layers": {layer: values}},
                                   {f"layers.{layer}.total": NUMBER,
                                    f"layers.{layer}.per_unit": NUMBER}, _FIX)
    return layers


def flow(finished, output):
    """Information through each layer against the filter fraction, and over
    training at a quarter of the filters (Fig. 6)."""
    runs = _by_value(finished, "model.filter_fraction")
    flows = {fraction: _information_flow(workdir) for fraction, workdir in runs}
    errors = {str(fraction): _metrics(workdir, "deterministic_error")["deterministic_error"]
              for fraction, workdir in runs}
    fractions = [fraction for fraction, _ in runs]
    layers = sorted(flows[fractions[0]])
    # Flow per epoch, from the TensorBoard scalars of the run at 0.25 (else the first).
    traced_fraction, traced = next(((f, w) for f, w in runs if f == 0.25), runs[0])
    log_dir = os.path.join(traced, "tensorboard", "analysis")
    history = {layer: scalar_history(log_dir, f"information_flow/{layer}/total")
               for layer in layers}

    figure = Figure(figsize=(14, 4), layout="constrained")
    axes = figure.subplots(1, 3)
    for layer in layers:
        for axis, key in zip(axes, ("total", "per_unit")):
            axis.plot(fractions, [flows[f][layer][key] for f in fractions], marker="o",
                      label=layer)
        epochs = np.array(list(history[layer]), dtype=int)
        axes[2].plot(epochs + 1, list(history[layer].values()), marker="o", label=layer)
    for axis, label in zip(axes, ("nats per example", "nats per example and unit")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(fractions, [f"{f:g}" for f in fractions])
        axis.minorticks_off()
        axis.set_xlabel("filter fraction")
        axis.set_ylabel(label)
    axes[0].set_title("information through each layer (total)")
    axes[1].set_title("per unit")
    axes[2].set_title(f"total over training, filter fraction {traced_fraction:g}")
    axes[2].set_xlabel("epochs completed")
    axes[2].set_ylabel("nats per example")
    for axis in axes:
        axis.legend()
    figure.suptitle("All-CNN-32 on MNIST, information flow (paper Fig. 6)")
    summary = {"flow": {str(f): flows[f] for f in fractions}, "test_error": errors,
               "history": {"filter_fraction": traced_fraction,
                           "total": {layer: {str(epoch + 1): value
                                             for epoch, value in history[layer].items()}
                                     for layer in layers}}}
    _write(output, "flow", summary, figure)


def surrogate(finished, output):
    """Information-plane trajectories under the surrogate IB penalties
    (Kirsch, Lyle & Gal, Fig. 1): preserved I(X; Z') against residual
    H(Z'|Y) per epoch, one panel per penalty, one line per gamma."""
    from infodropout_tf.information.plane_plot import draw_log_n
    from infodropout_tf.information.plane import read_rows

    summary = {"protocol": "training examples of the information-plane callback; I(X; Z') = "
                           "H(Z') and H(Z'|Y) by the Gaussian mixture with the zero-entropy "
                           "noise; test error with the noise off",
               "runs": {}}
    for run, workdir in finished:
        penalty = run.overrides["model.surrogate"]
        gamma = run.overrides["model.surrogate_weight"]
        path = os.path.join(workdir, "information_plane.json")
        rows = [row for row in read_rows(path, _FIX)
                if row["split"] == "train" and "residual_information" in row]
        workdir_files.check_items(path, rows, {"residual_information": NUMBER}, _FIX)
        examples = _config(workdir, {"information_plane.num_examples": integer(1)})[
            "information_plane"]["num_examples"]
        summary["runs"].setdefault(penalty, {})[str(gamma)] = {
            "num_examples": examples, "log_n": math.log(examples),
            "epochs": [row["epoch"] for row in rows],
            "preserved": [row["mutual_information_x"] for row in rows],
            "residual": [row["residual_information"] for row in rows],
            "test_error": _metrics(workdir, "deterministic_error")["deterministic_error"]}
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
    _write(output, "surrogate", summary, figure)


REPORTS = {"vae": vae, "beta_vae": beta_vae, "mlp_width": mlp_width, "cluttered": cluttered,
           "occlusion": occlusion, "disentangle": disentangle, "plane": plane, "flow": flow,
           "surrogate": surrogate}
# The reports that also take the runs still training or interrupted.
SHOW_UNFINISHED_RUNS = {"vae"}
