"""The rows of docs/results.md on trained classifiers: MLP width (Fig. 3a),
Cluttered MNIST's KL maps (Fig. 2), occlusion (Fig. 4), disentanglement
(Fig. 5) and information flow (Fig. 6).

Each compares runs of one network that differ in one override (noise and
width, or beta, or the filter fraction), from their metrics and, where the
row needs more than the trainer measured, from the reloaded model.
"""

import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from infodropout_tf import workdir_files
from infodropout_tf.information import kl_mass_inside_boxes
from infodropout_tf.information import log_activation_total_correlation
from infodropout_tf.information import total_correlation
from infodropout_tf.layers import InformationDropout
from infodropout_tf.per_unit_kl import kl_map_functions
from infodropout_tf.priors import LOG_FEATURE_FLOOR
from infodropout_tf.priors import LogNormalPrior
from infodropout_tf.results import plots
from infodropout_tf.results import run_folder
from infodropout_tf.workdir_files import NUMBER
from infodropout_tf.workdir_files import OBJECT
from infodropout_tf.workdir_files import integer


def mlp_width(finished, output):
    """Mean and spread over seeds of the MLP's test error per noise and width
    (Fig. 3a), with each seed's error: at the paper's learning rate some
    noisy networks stop learning, which a mean and spread hide."""
    errors = {}  # noise -> width -> {seed: error}, in the sweep's order
    epochs = set()
    for run, workdir in finished:
        noise, width = run.overrides["model.noise"], run.overrides["model.width"]
        errors.setdefault(noise, {}).setdefault(width, {})[run.overrides["seed"]] = (
            run_folder.metrics(workdir, "deterministic_error")["deterministic_error"])
        epochs.add(run_folder.config(workdir, {"num_epochs": integer(1)})["num_epochs"])
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
    plots.write(output, "mlp_width", summary, figure)


def _kl_map_functions(model):
    """{layer name: images -> channel-summed KL map (batch, h, w)} of every
    convolutional information-dropout layer of a trained classifier."""
    return {name: (lambda images, f=f: np.asarray(f(images)).sum(axis=-1))
            for name, f in kl_map_functions(model).items()
            if isinstance(f.layer, InformationDropout) and len(f.layer.output.shape) == 4}


def cluttered(finished, output):
    """Share of each layer's KL inside the digit's box, and KL maps (Fig. 2).

    The figure shows the same test images for every beta: one row per beta
    (its test error beside it), and for each image the input with the
    digit's box in red, then one column per information-dropout layer.
    """
    runs = run_folder.by_value(finished, "model.beta")
    batches = run_folder.test_batches(runs[0][1], "test", as_dict=True)
    size = batches[0]["image"].shape[1]
    boxes = np.concatenate([b["digit_box"] for b in batches])
    box_area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / size**2
    summary = {"test_examples": len(boxes), "box_area_fraction": float(box_area.mean()),
               "kl_mass_inside_box": {}, "test_error": {}, "noisy_test_error": {}}
    num_examples = 2  # shown in the figure, the first of the test set
    maps_of = {}
    for beta, workdir in runs:
        model = run_folder.model(workdir)
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
        metrics = run_folder.metrics(workdir, "deterministic_error", "noisy_error")
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
    plots.write(output, "cluttered", summary, figure)


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
    runs = run_folder.by_value(finished, "model.beta")
    for beta, workdir in runs:
        metrics = run_folder.metrics(workdir, "deterministic_error", "noisy_error",
                                     "nuisance_error")
        errors = summary["errors"][str(beta)] = {
            key: metrics[key] for key in ("deterministic_error", "noisy_error")}
        evaluation = os.path.join(workdir, "evaluation.json")
        evaluated = ([run_folder.read_json(evaluation, {"nuisance_error": NUMBER})]
                     if os.path.exists(evaluation) else [])
        for results in [metrics] + evaluated:
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
    plots.log_beta_axis(axis, betas)
    axis.set_ylabel("test error [%]")
    axis.set_title("Occluded MNIST, All-CNN-32 (paper Fig. 4)")
    axis.legend()
    plots.write(output, "occlusion", summary, figure)


def _last_lognormal_layer(model):
    """The KL-map function of the model's last information-dropout layer with
    the log-normal prior, or None."""
    functions = [f for f in kl_map_functions(model).values()
                 if isinstance(getattr(f.layer, "prior", None), LogNormalPrior)]
    return functions[-1] if functions else None


# Row 6's samples: the original's `correlation` flattens each image of the
# whole test set; the per-channel measure of earlier versions of this row,
# kept beside it, took every position of the first 1,000 test images.
DISENTANGLE_SPLIT = "test"
PER_CHANNEL_IMAGES = 1000


def _noisy_layer_inputs(function, batches):
    """The layer's features f(x) and noise scales alpha on every batch."""
    features, alphas = [], []
    for images, _ in batches:
        layer_inputs = function.layer_inputs(images)  # f(x), or [f(x), block inputs]
        alphas.append(np.asarray(function.layer.noise_scale(layer_inputs)))
        features.append(np.asarray(layer_inputs[0] if isinstance(layer_inputs, (list, tuple))
                                   else layer_inputs))
    return np.concatenate(features), np.concatenate(alphas)


def _signal_and_noise(features, alpha):
    """What varies in log z = log f(x) + alpha(x) eps across the examples.

    `signal_variance`: the variance of the noise-free log f(x) across the
    examples, summed over the units; `noise_variance`: alpha^2 averaged over
    the examples, summed over the units; `signal_top3_share`: the share of
    the signal variance along its 3 largest principal directions, near 1
    when a few shared directions carry the signal (what makes units
    correlated), or None when log f(x) is the same for every example up to
    rounding (a signal variance below 1e-12 per unit).
    """
    log_features = np.log(np.maximum(features.reshape(len(features), -1).astype(np.float64),
                                      LOG_FEATURE_FLOOR))
    log_features -= log_features.mean(axis=0)
    # Eigenvalues of the covariance; the Gram matrix when it is smaller.
    gram = (log_features.T @ log_features if log_features.shape[1] <= len(log_features)
            else log_features @ log_features.T) / len(log_features)
    spectrum = np.sort(np.linalg.eigvalsh(gram))[::-1]
    signal = float(spectrum.sum())
    has_signal = signal > 1e-12 * log_features.shape[1]
    return {"signal_variance": signal,
            "noise_variance": float(np.mean(np.square(alpha, dtype=np.float64), axis=0).sum()),
            "signal_top3_share": float(spectrum[:3].sum() / signal) if has_signal else None}


def disentangle(finished, output):
    """Test error and total correlation of the representation against beta (Fig. 5).

    The total correlation is `log_activation_total_correlation` of the last
    log-normal-prior layer's noisy log-activations: per image (the
    original's, over the whole test set; `total_correlation`) and per
    channel (`total_correlation_per_channel`). Independent Gaussian units
    of the same number of images and units give the per-image estimate's
    floor from sampling alone (`independent_units_total_correlation`).
    `_signal_and_noise` says how much of log z varies with the image.
    """
    runs = run_folder.by_value(finished, "model.beta")
    batches = run_folder.test_batches(runs[0][1], DISENTANGLE_SPLIT)
    num_images = sum(len(images) for images, _ in batches)
    summary = {"protocol": f"total correlation per unit, -1/2 log det of the correlation of the "
                           f"last information-dropout layer's noisy log-activations divided by "
                           f"their number: total_correlation with each of the {num_images} "
                           f"test images' flattened log-activations one sample (the "
                           f"original's); total_correlation_per_channel across its channels, "
                           f"every position of the first {PER_CHANNEL_IMAGES} test images a "
                           f"sample",
               "images": num_images, "runs": {}}
    for beta, workdir in runs:
        model = run_folder.model(workdir)
        function = _last_lognormal_layer(model)
        if function is None:
            raise workdir_files.WorkdirError(
                f"{workdir}: the model has no information-dropout layer with the log-normal "
                "prior; train it with model.activation=softplus.")
        features, alpha = _noisy_layer_inputs(function, batches)
        try:
            per_image = log_activation_total_correlation(features, alpha, per="image")
        except ValueError as error:  # too few test images for the layer's units
            raise workdir_files.WorkdirError(f"{workdir}: {error}") from None
        metrics = run_folder.metrics(workdir, "deterministic_error", "noisy_error")
        summary["runs"][str(beta)] = {
            "layer": function.layer.name, "units": int(np.prod(features.shape[1:])),
            "total_correlation": per_image,
            "total_correlation_per_channel": log_activation_total_correlation(
                features[:PER_CHANNEL_IMAGES], alpha[:PER_CHANNEL_IMAGES], per="channel"),
            **_signal_and_noise(features, alpha),
            "deterministic_error": metrics["deterministic_error"],
            "noisy_error": metrics["noisy_error"]}
    betas = [beta for beta, _ in runs]
    values = [summary["runs"][str(b)] for b in betas]
    units = values[0]["units"]
    independent = np.random.default_rng(0).standard_normal((num_images, units))
    summary["independent_units_total_correlation"] = float(total_correlation(independent))
    figure = Figure(figsize=(10, 4), layout="constrained")
    error_axis, tc_axis = figure.subplots(1, 2)
    for key, label in (("deterministic_error", "deterministic"), ("noisy_error", "noisy")):
        error_axis.plot(betas, [100 * v[key] for v in values], marker="o", label=label)
    error_axis.set_yscale("log")
    error_axis.set_ylabel("test error [%]")
    error_axis.legend()
    tc_axis.plot(betas, [v["total_correlation"] for v in values], marker="o",
                 label=f"per image ({num_images} images; the original's)")
    tc_axis.plot(betas, [v["total_correlation_per_channel"] for v in values], marker="s",
                 label=f"per channel ({PER_CHANNEL_IMAGES} images x positions)")
    tc_axis.axhline(summary["independent_units_total_correlation"], color="0.4", linestyle=":",
                    label="per image, independent units (sampling floor)")
    tc_axis.set_ylabel("total correlation [nats per unit]")
    tc_axis.legend(fontsize=8)
    for axis in (error_axis, tc_axis):
        plots.log_beta_axis(axis, betas)
    figure.suptitle(f"All-CNN-32, softplus, log-normal prior, on MNIST: "
                    f"{values[0]['layer']}, {units} units (paper Fig. 5)")
    plots.write(output, "disentangle", summary, figure)


def _information_flow(workdir):
    """{layer: {"total", "per_unit"}} of a run's information_flow.json."""
    path = os.path.join(workdir, "information_flow.json")
    layers = run_folder.read_json(path, {"layers": OBJECT})["layers"]
    for layer, values in layers.items():
        workdir_files.check_fields(path, {"layers": {layer: values}},
                                   {f"layers.{layer}.total": NUMBER,
                                    f"layers.{layer}.per_unit": NUMBER}, run_folder.FIX)
    return layers


def flow(finished, output):
    """Information through each layer against the filter fraction, and over
    training at a quarter of the filters (Fig. 6)."""
    runs = run_folder.by_value(finished, "model.filter_fraction")
    flows = {fraction: _information_flow(workdir) for fraction, workdir in runs}
    errors = {str(fraction):
              run_folder.metrics(workdir, "deterministic_error")["deterministic_error"]
              for fraction, workdir in runs}
    fractions = [fraction for fraction, _ in runs]
    layers = sorted(flows[fractions[0]])
    # Flow per epoch, from the TensorBoard scalars of the run at 0.25 (else the first).
    traced_fraction, traced = next(((f, w) for f, w in runs if f == 0.25), runs[0])
    log_dir = os.path.join(traced, "tensorboard", "analysis")
    history = {layer: run_folder.scalar_history(log_dir,
                                                f"information_flow/{layer}/total")
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
    plots.write(output, "flow", summary, figure)
