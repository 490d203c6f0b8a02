"""The Deep Variational Information Bottleneck row of docs/results.md (issue 30).

Alemi, Fischer, Dillon & Murphy, "Deep Variational Information Bottleneck"
(ICLR 2017), on MNIST: the VIB classifier's test error at beta = 1e-3
after their 200 epochs, and the information plane of beta for the VIB and
for the same encoder with information dropout on its last hidden layer.

The trainer's `metrics.json` holds the test errors (noise off, and the
average of `eval_num_samples` noisy predictions) but neither the rate nor
the cross-entropy of a single sample, so the report reloads each model and
measures both on the test split:

* rate: E_x KL(p(z|x) || r(z)), the model's KL layer's map summed over
  units, an upper bound on I(Z;X) (Alemi et al. Eq. 13; r = N(0, I) for
  the VIB, the learned log-normal prior for information dropout);
* H(Y) - E_x E_z[-log q(y|z)], one sample of z per term, a lower bound on
  I(Z;Y) (their Eq. 12), with H(Y) from the test labels.
"""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from infodropout_tf.information import label_entropy
from infodropout_tf.information import monte_carlo_cross_entropies
from infodropout_tf.per_unit_kl import kl_map_functions
from infodropout_tf.results import plots
from infodropout_tf.results import run_folder
from infodropout_tf.workdir_files import NUMBER
from infodropout_tf.workdir_files import integer

# The config file of each model the row compares, and its name in the report.
MODELS = {"mnist_vib.py": "vib", "mnist_vib_information_dropout.py": "information_dropout"}
# Alemi et al.'s Table 1 test errors (fractions) at beta = 1e-3 after 200 epochs.
PAPER_ERRORS = {"vib": 0.0113, "deterministic baseline": 0.0138, "binary dropout": 0.0134}


def _rate(model, batches):
    """E_x of the model's KL summed over its KL layers' units (nats)."""
    functions = list(kl_map_functions(model).values())
    if not functions:
        raise ValueError(f"the model {model.name!r} has no KL layer, so it has no rate.")
    totals = [sum(np.asarray(f(images), np.float64).reshape(len(images), -1).sum(axis=1)
                  for f in functions)
              for images, _ in batches]
    return float(np.concatenate(totals).mean())


def _measure(workdir, batches):
    """One run's test errors, rate and cross-entropies (see the module docstring)."""
    metrics = run_folder.metrics(workdir, "deterministic_error", "noisy_error",
                                 "noisy_cross_entropy")
    stored = run_folder.config(workdir, {"num_epochs": integer(1),
                                         "eval_num_samples": integer(1), "model.beta": NUMBER})
    model = run_folder.model(workdir)
    cross_entropies = monte_carlo_cross_entropies(model, batches, stored["eval_num_samples"])
    return {"epochs": stored["num_epochs"], "beta": float(stored["model"]["beta"]),
            "test_error": metrics["noisy_error"],
            "deterministic_test_error": metrics["deterministic_error"],
            "rate": _rate(model, batches),
            "decoder_cross_entropy": cross_entropies["decoder_cross_entropy"],
            "prediction_cross_entropy": cross_entropies["prediction_cross_entropy"],
            "labels": cross_entropies["labels"]}


def _model_of(run):
    try:
        return MODELS[run.config]
    except KeyError:
        raise ValueError(f"run {run.name} trains {run.config}; the vib row compares "
                         f"{' and '.join(MODELS)} only.") from None


def vib(finished, output):
    """Test error at beta = 1e-3 after 200 epochs, and the information plane
    of beta (rate against H(Y) minus the single-sample cross-entropy) and the
    test error against beta of the VIB and of information dropout."""
    batches = run_folder.test_batches(finished[0][1], "test")
    points = {}  # model -> epochs -> beta -> measurements
    entropy = None
    for run, workdir in finished:
        name = _model_of(run)
        point = _measure(workdir, batches)
        labels = point.pop("labels")
        entropy = label_entropy(labels) if entropy is None else entropy
        point["label_information_bound"] = entropy - point["decoder_cross_entropy"]
        by_beta = points.setdefault(name, {}).setdefault(point.pop("epochs"), {})
        by_beta[point.pop("beta")] = point

    summary = {"protocol": "test split; test_error averages the predicted probabilities of "
                           "eval_num_samples noisy passes (12), deterministic_test_error uses "
                           "the noise-free representation; rate = E_x KL(p(z|x) || r(z)) in "
                           "nats, an upper bound on I(Z;X); label_information_bound = H(Y) - "
                           "E[-log q(y|z)] over single samples of z (decoder_cross_entropy), a "
                           "lower bound on I(Z;Y); prediction_cross_entropy is that of the "
                           "12-sample average prediction. beta weighs the KL per example in "
                           "both models.",
               "label_entropy": entropy, "paper_test_errors": PAPER_ERRORS,
               "runs": {model: {str(epochs): {f"{beta:g}": by_beta[beta]
                                              for beta in sorted(by_beta)}
                                for epochs, by_beta in sorted(by_epochs.items())}
                        for model, by_epochs in points.items()}}

    figure = Figure(figsize=(12, 4.5), layout="constrained")
    plane_axis, error_axis = figure.subplots(1, 2)
    all_betas = set()
    for index, (model, by_epochs) in enumerate(sorted(points.items())):
        for style, (epochs, by_beta) in zip(("-o", "--s", ":^"), sorted(by_epochs.items())):
            betas = sorted(by_beta)
            all_betas.update(betas)
            label = f"{model}, {epochs} epochs"
            rates = [by_beta[b]["rate"] for b in betas]
            bounds = [by_beta[b]["label_information_bound"] for b in betas]
            plane_axis.plot(rates, bounds, style, color=f"C{index}", label=label)
            for beta, rate, bound in zip(betas, rates, bounds):
                plane_axis.annotate(f"{beta:g}", (rate, bound), fontsize=7,
                                    textcoords="offset points", xytext=(3, -9))
            error_axis.plot(betas, [100 * by_beta[b]["test_error"] for b in betas], style,
                            color=f"C{index}", label=label)
    plane_axis.axhline(entropy, color="gray", linestyle=":", label="H(Y)")
    # The rates span from a fraction of a nat (large beta) to hundreds.
    plane_axis.set_xscale("symlog", linthresh=1.0)
    plane_axis.set_xlim(left=0)  # a rate is >= 0; the margin would show negative decades
    plane_axis.set_xlabel("rate E KL(p(z|x) || r(z)) >= I(Z;X) [nats]")
    plane_axis.set_ylabel("H(Y) - cross-entropy <= I(Z;Y) [nats]")
    plane_axis.set_title("information plane of beta (test split)")
    plane_axis.legend(fontsize=8)
    error_axis.axhline(100 * PAPER_ERRORS["vib"], color="gray", linestyle=":",
                       label="Alemi et al., VIB beta 1e-3")
    plots.log_beta_axis(error_axis, sorted(all_betas))
    error_axis.set_yscale("log")
    # Plain percentages: the errors span 1% to chance (90%), where 10^0 reads badly.
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    error_axis.yaxis.set_major_formatter(plain)
    error_axis.yaxis.set_minor_formatter(plain)
    error_axis.set_ylabel("test error [%] (12-sample prediction)")
    error_axis.set_title("test error against beta")
    error_axis.legend(fontsize=8)
    figure.suptitle("Deep Variational Information Bottleneck on MNIST (Alemi et al. 2017)")
    plots.write(output, "vib", summary, figure)
