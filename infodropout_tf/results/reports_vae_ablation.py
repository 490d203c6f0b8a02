"""Row 1's ablation (issue 31): why the information-dropout VAE trails the Gaussian one.

Each run of `configs/sweeps/vae_ablation.py` changes one modelling choice
of row 1's VAE (k = 2, 30 epochs, seed 0). The report sets every
information-dropout run beside the Gaussian run with the same hidden
activation, which is the one option both latents share, and adds what
explains a gap: the latent's active units and the KL its idle units pay
(`reports_vae.latent_summary`), and the same model with the noise off.
"""

import numpy as np
from matplotlib.figure import Figure
from tensorflow_probability import distributions as tfd

from infodropout_tf.layers.noise_layer import sampling_at_inference
from infodropout_tf.results import plots
from infodropout_tf.results import reports_vae
from infodropout_tf.results import run_folder
from infodropout_tf.workdir_files import integer

# The options a run of the sweep sets, as its name's label shows them.
OPTIONS = ("model.activation", "model.decoder_input", "model.max_alpha", "model.prior")


def _elbo_terms(model, images, noise):
    """Mean reconstruction term and closed-form KL on `images`, in nats.

    With `noise`, the decoder reads one latent sample per image, as the
    trainer's test ELBO does. Without, it reads the latent's mean (the
    Gaussian's mu; f, or log f with `decoder_input="log_z"`): a deterministic
    pass, whose "reconstruction + KL" is not a bound on log p(x).
    """
    with sampling_at_inference(model, enabled=noise):
        logits = model(images, training=False)
    reconstruction = -np.mean(np.asarray(model.bernoulli_log_likelihood(images, logits)))
    posterior, prior, _ = model.latent_distributions(model.encoder(images, training=False))
    kl = np.mean(np.sum(np.asarray(tfd.kl_divergence(posterior, prior)), axis=-1))
    return float(reconstruction), float(kl)


def _run_row(run, workdir):
    """A finished run's test bounds, latent diagnostics and noise-off pass."""
    metrics = run_folder.metrics(workdir, "reconstruction", "kl", "iwae_log_likelihood")
    config = run_folder.config(workdir, {"num_epochs": integer(1), "iwae_samples": integer(1),
                                         "iwae_examples": integer(1)})
    latent_type = run.overrides["model.latent"]
    # The Gaussian latent ignores every option but the activation.
    options = OPTIONS if latent_type == "information_dropout" else ("model.activation",)
    row = {"latent_type": latent_type,
           **{name.split(".")[1]: run.overrides[name] for name in options},
           "epochs": config["num_epochs"],
           "elbo": -(metrics["reconstruction"] + metrics["kl"]),
           "iwae": metrics["iwae_log_likelihood"],
           "iwae_samples": config["iwae_samples"], "iwae_examples": config["iwae_examples"]}
    latent_row, _, _ = reports_vae.latent_summary(workdir)
    row.update(latent_row)
    # Both passes on the images the latent diagnostics read, so that the
    # noise-off value is compared with a noisy pass on the same images.
    model = run_folder.model(workdir)
    images = np.concatenate([x for x, _ in run_folder.test_batches(workdir, "test[:1000]")])
    for noise, key in ((True, "noisy_1000"), (False, "noise_off_1000_not_a_bound")):
        reconstruction, kl = _elbo_terms(model, images, noise)
        row[key] = {"reconstruction": reconstruction, "kl": kl, "elbo": -(reconstruction + kl)}
    return row


def vae_ablation(finished, output):
    """Test ELBO, importance-weighted bound, gap to the matching Gaussian
    run, active units, idle units' KL and a noise-off pass per ablation run.
    """
    summary = {"protocol": "k = 2 (1,024 hidden, 512 latent units), seed 0, epochs as listed; "
                           "elbo: minus the test negative ELBO (closed-form KL, one latent "
                           "sample) on the whole test split; iwae: the importance-weighted "
                           "bound with iwae_samples samples on the first iwae_examples test "
                           "images; noisy_1000 / noise_off_1000_not_a_bound: reconstruction "
                           "+ KL on the first 1,000 test images with one latent sample / "
                           "with the decoder reading the latent's mean, the latter not a "
                           "bound on log p(x); gap: elbo minus the Gaussian run's with the "
                           "same activation",
               "runs": {}}
    runs = summary["runs"]
    for run, workdir in finished:
        runs[run.name] = _run_row(run, workdir)
    gaussian = {row["activation"]: row for row in runs.values() if row["latent_type"] == "gaussian"}
    for row in runs.values():
        pair = gaussian.get(row["activation"])
        if row["latent_type"] != "gaussian" and pair is not None:
            row["gap_elbo"] = row["elbo"] - pair["elbo"]
            row["gap_iwae"] = row["iwae"] - pair["iwae"]

    names = list(runs)
    labels = [name.replace("vae_ablation_k2_", "").replace("information_dropout", "info")
              for name in names]
    positions = np.arange(len(names))
    figure = Figure(figsize=(12, 0.45 * len(names) + 2), layout="constrained")
    bounds_axis, units_axis = figure.subplots(1, 2, sharey=True)
    for offset, key, label in ((-0.2, "elbo", "test ELBO"), (0.0, "iwae", "IWAE (k = 1000)")):
        bounds_axis.barh(positions + offset, [runs[n][key] for n in names], height=0.2,
                         label=label)
    bounds_axis.barh(positions + 0.2, [runs[n]["noise_off_1000_not_a_bound"]["elbo"]
                                       for n in names],
                     height=0.2, label="noise off (not a bound)")
    bounds_axis.set_yticks(positions, labels)
    # Every bar's end in view: the worst bound 2 nats inside the left edge.
    worst = min(min(runs[n]["elbo"], runs[n]["noise_off_1000_not_a_bound"]["elbo"])
                for n in names)
    bounds_axis.set_xlim(worst - 2, -85)
    bounds_axis.set_xlabel("nats")
    bounds_axis.legend(loc="lower left", fontsize=8)
    units_axis.barh(positions, [runs[n]["active_units"] for n in names], color="C3")
    units_axis.set_xlabel("active latent units (of 512)")
    for position, name in zip(positions, names):
        units_axis.annotate(f"idle KL {runs[name]['kl_in_idle_units']:.1f}",
                            (runs[name]["active_units"], position), fontsize=8,
                            xytext=(3, -3), textcoords="offset points")
    figure.suptitle("Row 1's ablation: VAE on binarised MNIST, k = 2")
    plots.write(output, "vae_ablation", summary, figure)
