"""The estimator of Adilova, Geiger & Fischer's released code, and its bias.

    python -m infodropout_tf.results.adilova_reference --out docs/results

writes `adilova_reference.json` and `adilova_reference.png`.

What the reference code computes. Their repository (github.com/link-er/
IP_dropout, commit 1597d47) estimates I(X; Z) for Gaussian dropout in
`mi_estimators/dropout_MI.py` (`gaussian_noise_mi`, `repr_entropy`), called
by the notebooks `MNIST_dropout/mnist_draw_IP.ipynb` and
`cifar10_dropout/cifar10_draw_IP.ipynb`:

* the noise: `utils/continuous_dropouts.py`'s `GaussianDropout(alpha)`
  multiplies by `randn * alpha + 1`, alpha = p / (1 - p), so alpha is the
  noise's standard deviation sigma, and given x the representation is
  N(m, sigma^2 diag(m^2)), m = f(x); the notebooks draw their noisy samples
  the same way with their own `drp_noise = p / (1 - p)` (p = 0.01 in the
  MNIST notebook, 0.4 in the CIFAR-10 one) and pass it as sigma;
* h(Z|X) exactly, as the mean over the noise-free representations of
  sum_i log(sqrt(2 pi e) sigma |m_i + 1e-6|);
* h(Z) as minus the mean log density of the noisy samples under a mixture
  of Gaussians, one per noise-free representation among the first
  `GMM_MEANS_NUM = 1000`, with equal weights and covariance
  `drp_noise * diag(|m|)`: c diag(|m|) with c = p / (1 - p) and p = 0.01,
  that module's own constants (c = 1/99), whatever p the notebook set: the
  same number as sigma in the MNIST notebook, not in the CIFAR-10 one.

The mixture's covariance is c diag(|m|), not the noise's sigma^2 diag(m^2):
linear, not quadratic, in the activation, with a fixed c (1/99) where
sigma^2 |m| belongs. The two agree only where |m| = c / sigma^2 (|m| = 99 with the
MNIST notebook's constants, 1/44 with the CIFAR-10 notebook's). Where
they differ, the estimate of h(Z), a Monte-Carlo cross-entropy E_p[-log q],
exceeds the mixture's true entropy in expectation by KL(p || q) >= 0, p
the true mixture and q theirs. By the joint convexity of KL divergence this
excess lies between 0 and the mean over inputs of the components' own
divergences (for all n inputs among the components, and the 1e-6 aside),
and it reaches that upper end where components do not overlap:

    estimate - truth = mean_x sum_i b(|m_i(x)|),
    b(|m|) = KL(N(m, sigma^2 m^2) || N(m, c |m|))
           = 1/2 log(c / (sigma^2 |m|)) + sigma^2 |m| / (2 c) - 1/2,

per unit, zero only at |m| = c / sigma^2 and growing on either side. With
non-overlapping components the true I(X; Z) for X uniform on the inputs is
log n whatever the activations' scale, while the reference estimate moves
with the scale alone (`reference_code_bias_bound`).

Two departures, both harmless here: `repr_entropy` evaluates its samples
in chunks of 10,000 and drops the remainder (`int(len(reprs) / 10000)`
chunks, none below 10,000 samples, then a division by zero); here every
sample is evaluated. And pomegranate's mixture is replaced by the same
density evaluated with numpy.

The study (`main`):

(a) the scale sweep: d = 32 units, n = 1,000 inputs whose noise-free
activations are softplus(N(0.5, 1)) (positive, as their softplus
networks' are), multiplied by 1, 2, 4, 8, 16, with 10 noisy draws per
input; the reference estimate, the package's
(`infodropout_tf.information.gaussian_dropout_information`, the true
mixture), the predicted reference estimate log n + bias, and log n. Three
times: sigma = c = 0.25 (p = 0.2, the rate of their MNIST training
script), sigma = c = 1/99 (p = 0.01, what the MNIST notebook computes) and
sigma = 2/3 with c = 1/99 (p = 0.4, what the CIFAR-10 notebook computes).

(b) `adilova_toy`'s problem: X ~ N(0, I_d), f(X) = 2X + 0.5, noise
N(1, sigma^2) with sigma^2 = 0.2, d = 1, 5, 10, n = 100, 300, 1,000 nested
inputs with 10 noisy draws each; the reference estimate with c = sigma
(`dropout_MI.py`'s convention) and with c = sigma^2 (the covariance
`NOISE * diag(|m| + 1e-6)` of their `estimator_validation/known_MI.py`,
where NOISE is the noise's variance), the package's, the bound on the
reference's excess, and for d = 1 the exact I(X; Z)
(`adilova_toy.mixture_information_1d`). known_MI.py also passes NOISE, the
variance, where h(Z|X) needs the standard deviation, which adds
d/2 log(1 / NOISE) nats to its estimate; that slip is not reproduced here.
"""

import argparse
import math
import sys
import time

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from infodropout_tf import _validation
from infodropout_tf.information import gaussian_dropout
from infodropout_tf.information import gaussian_dropout_information
from infodropout_tf.results import adilova_toy
from infodropout_tf.results import plots

REFERENCE_RATE = 0.01  # `p` in dropout_MI.py and the notebooks
REFERENCE_C = REFERENCE_RATE / (1 - REFERENCE_RATE)  # `drp_noise`, 1/99
REFERENCE_COMPONENTS = 1000  # `GMM_MEANS_NUM`
REFERENCE_OFFSET = 1e-6  # added to m inside log|m| of h(Z|X)

SWEEP_UNITS, SWEEP_INPUTS = 32, 1000
SWEEP_SCALES = (1, 2, 4, 8, 16)
SWEEP_CONSTANTS = (("issue: sigma = c = 0.25 (p = 0.2)", 0.25, 0.25),
                   ("MNIST notebook: sigma = c = 1/99 (p = 0.01)", REFERENCE_C, REFERENCE_C),
                   ("CIFAR-10 notebook: sigma = 2/3 (p = 0.4), c = 1/99", 0.4 / 0.6,
                    REFERENCE_C))
TOY_DIMENSIONS = (1, 5, 10)
TOY_INPUTS = (100, 300, 1000)
DRAWS_PER_INPUT = 10


def reference_code_information(means, sigma, c=REFERENCE_C, samples=None,
                               num_components=REFERENCE_COMPONENTS, draws_per_input=1,
                               seed=0, block_size=1000, offset=0.0):
    """The reference code's estimate of I(X; Z) (dropout_MI.py's `gaussian_noise_mi`).

    Not the package's estimator, which is
    `infodropout_tf.information.gaussian_dropout_information`: this one
    reproduces what Adilova et al.'s released code computes, with the
    mixture covariance c diag(|m|) in place of the noise's
    sigma^2 diag(m^2) (see the module's docstring).

    Args:
        means: (n, ...) finite noise-free representations m = f(x),
            flattened to (n, d); the first `num_components` (all their
            entries non-zero unless `offset` > 0) are the mixture's
            components.
        sigma: Finite float > 0, the noise's standard deviation
            (`drp_noise` in their code, p / (1 - p)).
        c: Finite float > 0, the factor of the components' covariance
            c diag(|m|) (also `drp_noise` in their code, 1/99 there).
        samples: (N, d) noisy representations at which h(Z) is evaluated
            (`reprs`), or None to draw `draws_per_input` per mean as their
            notebooks do, m * (1 + sigma * N(0, 1)).
        num_components: Integer > 0, the number of leading means in the
            mixture (`GMM_MEANS_NUM`, 1,000).
        draws_per_input: Integer > 0, noisy draws per mean when `samples`
            is None.
        seed: Integer >= 0, seed of numpy's generator for those draws.
        block_size: Integer > 0, samples evaluated at once.
        offset: Finite float >= 0 added to |m| in the components'
            covariance, c diag(|m| + offset). 0 as in dropout_MI.py, where
            a zero mean is singular; their `estimator_validation/
            known_MI.py` adds 1e-6 (`REFERENCE_OFFSET`).

    Returns:
        Dict, in nats: `mutual_information` = `entropy` -
        `conditional_entropy`, `entropy` their h(Z) and its Monte-Carlo
        `entropy_standard_error` (also that of the mutual information:
        h(Z|X) is exact over the means), `conditional_entropy` their h(Z|X).

    Raises:
        ValueError: for an argument out of its range, naming it.
    """
    m = _validation.finite_array("means", means)
    m = m.reshape(len(m), -1)
    sigma = _validation.positive_float("sigma", sigma)
    c = _validation.positive_float("c", c)
    num_components = _validation.positive_int("num_components", num_components)
    draws_per_input = _validation.positive_int("draws_per_input", draws_per_input)
    seed = _validation.non_negative_int("seed", seed)
    block_size = _validation.positive_int("block_size", block_size)
    offset = _validation.non_negative_float("offset", offset)
    components = m[:num_components]
    if offset == 0 and np.any(components == 0):
        raise _validation.error(
            "means", "non-zero values among the mixture's components (a zero has a "
            "singular covariance c |m|)", f"{int(np.sum(components == 0))} zeros")
    if samples is None:
        rng = np.random.default_rng(seed)
        repeated = np.repeat(m, draws_per_input, axis=0)
        z = repeated * (1 + sigma * rng.standard_normal(repeated.shape))
    else:
        z = _validation.finite_array("samples", samples, ndim=2)
        if z.shape[1] != m.shape[1]:
            raise _validation.error("samples", f"an array of {m.shape[1]} columns, as the "
                                    "means", f"shape {z.shape}")
    log_density = gaussian_dropout.log_mixture_density(
        tf.constant(z), tf.constant(components),
        tf.constant(np.sqrt(c * (np.abs(components) + offset))),
        block_size).numpy()
    entropy = float(-np.mean(log_density))
    conditional_entropy = float(np.mean(np.sum(
        np.log(math.sqrt(2 * math.pi * math.e) * sigma * np.abs(m + REFERENCE_OFFSET)),
        axis=1)))
    return {"mutual_information": entropy - conditional_entropy,
            "entropy": entropy,
            "entropy_standard_error": float(np.std(log_density) / math.sqrt(len(z))),
            "conditional_entropy": conditional_entropy}


def reference_code_bias_bound(means, sigma, c=REFERENCE_C):
    """mean_x sum_i b(|m_i(x)|): the reference estimate's excess over the truth at most.

    b(|m|) = 1/2 log(c / (sigma^2 |m|)) + sigma^2 |m| / (2 c) - 1/2, the
    divergence KL(N(m, sigma^2 m^2) || N(m, c |m|)) of a unit's noise from
    the reference code's component. When every mean is a component (n <=
    `num_components`), the expected reference estimate minus the true
    I(X; Z) (X uniform on the means) lies in [0, this value], and equals it
    where the components do not overlap. Nats; `means` as for
    `reference_code_information`, all non-zero.
    """
    m = _validation.finite_array("means", means)
    m = np.abs(m.reshape(len(m), -1))
    sigma = _validation.positive_float("sigma", sigma)
    c = _validation.positive_float("c", c)
    if np.any(m == 0):
        raise _validation.error("means", "non-zero values", f"{int(np.sum(m == 0))} zeros")
    return float(np.mean(np.sum(_per_unit_excess(m, sigma, c), axis=1)))


def _per_unit_excess(activation, sigma, c):
    """b(|m|) = KL(N(m, sigma^2 m^2) || N(m, c |m|)) for |m| = `activation` > 0."""
    ratio = sigma**2 * activation / c
    return 0.5 * (ratio - 1 - np.log(ratio))


def reference_estimate(means, sigma, c, seed, offset=0.0):
    """The reference estimate with 10 draws per input, and its excess's bound
    (None where a mean is 0: the noise there is a point mass)."""
    reference = reference_code_information(means, sigma, c, draws_per_input=DRAWS_PER_INPUT,
                                           seed=seed, offset=offset)
    return {"reference": reference["mutual_information"],
            "reference_standard_error": reference["entropy_standard_error"],
            "bias_bound": (reference_code_bias_bound(means, sigma, c)
                           if np.all(means != 0) else None)}


def package_estimate(means, sigma, seed):
    """The package's estimate with 10 samples per input, and log n."""
    package = gaussian_dropout_information(means, sigma,
                                           num_samples=DRAWS_PER_INPUT * len(means), seed=seed)
    return {"package": package["mutual_information"],
            "package_standard_error": package["mutual_information_standard_error"],
            "log_n": math.log(len(means))}


def scale_sweep(units=SWEEP_UNITS, inputs=SWEEP_INPUTS, scales=SWEEP_SCALES,
                constants=SWEEP_CONSTANTS, seed=0):
    """(a) Both estimates as the activations softplus(N(0.5, 1)) are scaled."""
    rng = np.random.default_rng(seed)
    base = np.logaddexp(0.0, rng.standard_normal((inputs, units)) + 0.5)
    sweeps = []
    for label, sigma, c in constants:
        rows = []
        for scale in scales:
            row = {"scale": scale, "mean_activation": float(np.mean(scale * base))}
            row.update(reference_estimate(scale * base, sigma, c, seed=int(rng.integers(2**31))))
            row.update(package_estimate(scale * base, sigma, seed=int(rng.integers(2**31))))
            row["predicted_reference"] = row["log_n"] + row["bias_bound"]
            rows.append(row)
            print(f"{label} scale={scale}: {row}", file=sys.stderr, flush=True)
        sweeps.append({"label": label, "sigma": sigma, "c": c, "rows": rows})
    return {"units": units, "inputs": inputs,
            "activations": "softplus(N(0.5, 1)) times the scale", "sweeps": sweeps}


def toy(dimensions=TOY_DIMENSIONS, num_inputs=TOY_INPUTS, sigma=adilova_toy.SIGMA, seed=0):
    """(b) adilova_toy's problem: both estimates, the bound, the exact value at d = 1."""
    rng = np.random.default_rng(seed)
    variants = {"c = sigma (dropout_MI.py)": sigma, "c = sigma^2 (known_MI.py)": sigma**2}
    results = {"sigma": sigma, "draws_per_input": DRAWS_PER_INPUT,
               "variants": {label: c for label, c in variants.items()}, "dimensions": {}}
    for d in dimensions:
        x = rng.standard_normal((max(num_inputs), d))
        by_n = {}
        for n in num_inputs:
            f = adilova_toy.SCALE * x[:n] + adilova_toy.SHIFT
            point = package_estimate(f, sigma, seed=int(rng.integers(2**31)))
            for label, c in variants.items():
                point[label] = reference_estimate(f, sigma, c, seed=int(rng.integers(2**31)))
            if d == 1:
                point["exact"] = adilova_toy.mixture_information_1d(f[:, 0], sigma)
            by_n[str(n)] = point
            print(f"toy d={d} n={n}: {point}", file=sys.stderr, flush=True)
        results["dimensions"][str(d)] = by_n
    return results


def study(seed=0):
    started = time.time()
    results = {"scale_sweep": scale_sweep(seed=seed), "toy": toy(seed=seed)}
    results["seconds"] = time.time() - started
    return results


def figure_of(results):
    """(a) estimates against the scale, one panel per constant set; (b) per d."""
    sweeps = results["scale_sweep"]["sweeps"]
    dimensions = list(results["toy"]["dimensions"])
    columns = max(len(sweeps) + 1, len(dimensions))
    figure = Figure(figsize=(4.3 * columns, 8), layout="constrained")
    axes = figure.subplots(2, columns, squeeze=False)
    for axis, sweep in zip(axes[0], sweeps):
        rows = sweep["rows"]
        scales = [row["scale"] for row in rows]
        axis.errorbar(scales, [r["reference"] for r in rows],
                      yerr=[2 * r["reference_standard_error"] for r in rows], marker="o",
                      label="reference code's estimate")
        axis.plot(scales, [r["predicted_reference"] for r in rows], "k:",
                  label="log n + bias formula (no overlap)")
        axis.errorbar(scales, [r["package"] for r in rows],
                      yerr=[2 * r["package_standard_error"] for r in rows], marker="s",
                      label="package (true mixture)")
        axis.axhline(rows[0]["log_n"], color="0.5", linewidth=3, alpha=0.4, label="log n")
        axis.set_xscale("log", base=2)
        axis.set_xticks(scales, [f"{s:g}" for s in scales])
        axis.set_xlabel("activations multiplied by")
        axis.set_ylabel("I(X; Z) [nats]")
        axis.set_title(f"(a) d = {results['scale_sweep']['units']}, n = "
                       f"{results['scale_sweep']['inputs']}\n{sweep['label']}", fontsize=9)
    axes[0][0].legend(fontsize=7)
    # The per-unit excess b(|m|) of each constant set, zero at c / sigma^2.
    axis = axes[0][len(sweeps)]
    activations = np.logspace(-2, 3, 200)
    for index, sweep in enumerate(sweeps):
        axis.plot(activations, _per_unit_excess(activations, sweep["sigma"], sweep["c"]),
                  color=f"C{index}",
                  label=sweep["label"])
        axis.axvline(sweep["c"] / sweep["sigma"] ** 2, color=f"C{index}", linestyle=":")
    axis.set_xscale("log")
    axis.set_ylim(0, 4)
    axis.set_xlabel("|m|, noise-free activation")
    axis.set_ylabel("excess per unit b(|m|) [nats]")
    axis.set_title("(a) per-unit excess where components do not overlap,\n"
                   "zero at |m| = c / sigma^2 (dotted)", fontsize=9)
    axis.legend(fontsize=7)
    for axis in axes[0][len(sweeps) + 1:]:
        axis.set_visible(False)
    for axis, d in zip(axes[1], dimensions):
        points = results["toy"]["dimensions"][d]
        ns = [int(n) for n in points]
        values = [points[str(n)] for n in ns]
        for index, label in enumerate(results["toy"]["variants"]):
            axis.plot(ns, [v[label]["reference"] for v in values], marker="o",
                      color=f"C{index}", label=f"reference, {label}")
        axis.plot(ns, [v["package"] for v in values], marker="s", color="C2",
                  label="package (true mixture)")
        if "exact" in values[0]:
            axis.plot(ns, [v["exact"] for v in values], "k--",
                      label="exact (X uniform on the n inputs)")
        axis.plot(ns, np.log(ns), color="0.5", linewidth=3, alpha=0.4, label="log n")
        axis.set_xscale("log")
        axis.set_xlabel("inputs n (10 noise draws each)")
        axis.set_ylabel("I(X; Z) [nats]")
        axis.set_title(f"(b) toy, d = {d}", fontsize=9)
    axes[1][0].legend(fontsize=7)
    for axis in axes[1][len(dimensions):]:
        axis.set_visible(False)
    figure.suptitle("Adilova et al.'s released estimator (mixture covariance c|m|) against the "
                    f"true mixture (sigma^2 m^2); toy sigma^2 = {results['toy']['sigma']**2:.2g}")
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m infodropout_tf.results.adilova_reference",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder of adilova_reference.json and .png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        seed = _validation.non_negative_int("seed", args.seed)
    except ValueError as error:
        parser.error(str(error))
    plots.output_folder(parser, args.out)
    results = study(seed=seed)
    plots.write(args.out, "adilova_reference", results, figure_of(results))


if __name__ == "__main__":
    main()
