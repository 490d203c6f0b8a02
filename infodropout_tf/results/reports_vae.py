"""Rows 1 and 9 of docs/results.md: the VAE (paper Table 1) and the beta-VAE.

Both read trained VAEs back (`run_folder.model`) and look at their latent
on the test images: how many units carry information, the
information-dropout latent's learned prior and alphas (row 1), and the
total correlation of the code against beta (row 9, paper section 7).
"""

import numpy as np
from matplotlib.figure import Figure
from tensorflow_probability import distributions as tfd

from infodropout_tf.information import log_activation_total_correlation
from infodropout_tf.information import total_correlation
from infodropout_tf.results import plots
from infodropout_tf.results import run_folder
from infodropout_tf.workdir_files import integer


# VAE test lower bounds of paper Table 1, nats, per width multiplier k.
PAPER_VAE = {"k1": {"gaussian": -98.8, "information_dropout": -100.0},
             "k2": {"gaussian": -99.0, "information_dropout": -99.1},
             "k3": {"gaussian": -98.7, "information_dropout": -99.1}}


# A latent unit is active when it carries more than this many nats on
# average over the test images; the trained VAEs' units fall into two groups
# far either side of it (docs/results.md, row 1).
ACTIVE_UNIT_KL = 0.05


def latent_summary(workdir):
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
    model = run_folder.model(workdir)
    images = np.concatenate([x for x, _ in run_folder.test_batches(workdir, "test[:1000]")])
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
    # The prior over log z: one (mu, sigma) for the original's prior, one
    # per unit for `prior="log_normal_per_unit"`.
    prior = model.latent.prior.distribution().distribution
    alpha_upper = float(model.latent.alpha_upper)
    summary["latent"] = {
        "prior_mu": _value_or_range(prior.loc),
        "prior_sigma": _value_or_range(prior.scale),
        "mean_alpha_of_active_units": float(alpha[:, active].mean()) if active_kl.size else None,
        "mean_alpha_of_idle_units": float(alpha[:, ~active].mean()) if idle_kl.size else None,
        "alpha_upper": alpha_upper,
        "alpha_quantiles": {f"{q:g}": float(np.quantile(alpha, q))
                            for q in (0.05, 0.25, 0.5, 0.75, 0.95)},
        "alpha_share_at_cap": float(np.mean(alpha > 0.99 * alpha_upper))}
    return summary, np.sort(unit_kl)[::-1], alpha.ravel()


def _value_or_range(parameter):
    """A scalar parameter as a float; a per-unit one as its mean and range."""
    values = np.asarray(parameter, dtype=float)
    if values.size == 1:
        return float(values)
    return {"mean": float(values.mean()), "min": float(values.min()),
            "max": float(values.max())}


def test_elbo_curve(log):
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
            log = run_folder.read_training_log(workdir, ("val_reconstruction", "val_kl"))
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
            curve = curves[k, static][latent] = test_elbo_curve(log)
            axis.plot(log["epoch"] + 1, curve, color=color, marker="." if len(curve) < 10 else None,
                      label=f"{latent} (here)")
            axis.axhline(PAPER_VAE[f"k{k}"][latent], color=color, linestyle="--",
                         label=f"{latent} (paper)")
            config = run_folder.config(workdir, {"num_epochs": integer(1),
                                                 "iwae_samples": integer(1),
                                                 "iwae_examples": integer(1)})
            if not done:
                row[latent] = {"finished": False, "epochs": len(log["epoch"]),
                               "of_epochs": config["num_epochs"], "elbo": float(curve[-1]),
                               "reconstruction": float(log["val_reconstruction"][-1]),
                               "kl": float(log["val_kl"][-1])}
                continue
            metrics = run_folder.metrics(workdir, "reconstruction", "kl", "iwae_log_likelihood")
            # The ELBO is -(reconstruction + KL): `loss` weights the KL by beta.
            row[latent] = {"epochs": len(log["epoch"]),
                           "elbo": -(metrics["reconstruction"] + metrics["kl"]),
                           "reconstruction": metrics["reconstruction"], "kl": metrics["kl"],
                           "iwae": metrics["iwae_log_likelihood"],
                           "iwae_samples": config["iwae_samples"],
                           "iwae_examples": config["iwae_examples"]}
            latent_row, unit_kl, alpha = latent_summary(workdir)
            row[latent].update(latent_row)
            units_axis.plot(np.arange(1, unit_kl.size + 1), unit_kl, color=color,
                            linestyle=linestyle, label=f"{latent}, {name}")
            if alpha is not None:
                alpha_axis.hist(alpha, bins=50, range=(0, latent_row["latent"]["alpha_upper"]),
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
    plots.write(output, "vae", summary, figure)


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
    images = np.concatenate([x for x, _ in run_folder.test_batches(finished[0][1], "test")])
    summary = {"protocol": "on the 10,000 test images: reconstruction (distortion) and KL "
                           "(rate) in nats per image, and Gaussian total correlation per unit "
                           "of the code with one noise draw per image (Gaussian latent: "
                           "z = mu + sigma eps; information-dropout latent: the noisy "
                           "log-activations) and, for the Gaussian latent, of the posterior "
                           "means, all and active (Var_x mu_j > 0.01) ones",
               "runs": {}}
    for run, workdir in sorted(finished, key=lambda pair: pair[0].overrides["model.beta"]):
        latent, beta = run.overrides["model.latent"], run.overrides["model.beta"]
        metrics = run_folder.metrics(workdir, "reconstruction", "kl")
        model = run_folder.model(workdir)
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
    plots.write(output, "beta_vae", summary, figure)
