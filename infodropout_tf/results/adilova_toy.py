"""Adilova, Geiger & Fischer's toy problem (ICLR 2023, section 4, Figs. 2-4).

    python -m infodropout_tf.results.adilova_toy --out docs/results

writes `adilova_toy.json` and `adilova_toy.png`. The setting, in the
paper's words: "the input X is generated from an n-dimensional standard
normal distribution, modified with a function f(X) = 2X + 0.5, and then
subjected to Gaussian dropout distributed according to N(1, sigma^2). [...]
For each input data point, we generate 10 noise masks, thus obtaining 10
samples of Z for each x^(j)."

For each dimension d in 1, 5, 10, 50, 100 and each number of inputs n
(nested prefixes of one draw of X, so the curves show convergence), the
study compares on the same data:

* the package's estimate (`gaussian_dropout_information`, their
  Algorithm 1) of h(Z|X), against its closed form (Fig. 2), and of I(X; Z),
  with 10 Monte-Carlo samples of Z per input;
* binning (`binning_information`) of one noisy draw per input at several
  fixed bin widths, and MINE (`mine_lower_bound`) on the 10 draws per input
  (Fig. 4), all below the ceiling log n;
* for d = 1, the exact I(X; Z) for X uniform on the n drawn inputs (the
  quantity the mixture estimator targets), by Gauss-Hermite quadrature of
  h(Z) over every mixture component, so each estimator's error is shown.

The paper's text states neither sigma nor the sample counts of the toy
(they are only in its figures); sigma^2 = 0.2 is the dropout variance of
its MNIST network (Appendix A.8), and n runs from 100 to 3,000 inputs, the
largest count whose mixture evaluation at d = 100 stays under a minute on
a loaded two-core machine (n = 10,000 took 200 s there).
"""

import argparse
import math
import sys
import time

import numpy as np
from matplotlib.figure import Figure
from scipy import integrate

from infodropout_tf import _validation
from infodropout_tf.information import binning_information
from infodropout_tf.information import gaussian_dropout_information
from infodropout_tf.information import mine_lower_bound
from infodropout_tf.results import plots

DIMENSIONS = (1, 5, 10, 50, 100)
NUM_INPUTS = (100, 300, 1000, 3000)
SIGMA = math.sqrt(0.2)
DRAWS_PER_INPUT = 10
BIN_SIZES = (0.01, 0.1, 1.0)
SCALE, SHIFT = 2.0, 0.5  # f(x) = 2x + 0.5


def toy_conditional_entropy(dimension, sigma, scale=SCALE, shift=SHIFT):
    """Exact h(Z|X) in nats for X ~ N(0, I_d), Z = (scale X + shift) * N(1, sigma^2).

    Given x, Z_i ~ N(f_i, sigma^2 f_i^2), so h(Z|X) = d (1/2 log(2 pi e
    sigma^2) + E log|scale X_1 + shift|); the expectation is integrated
    numerically on both sides of the zero of f, where log|f| has an
    integrable singularity.

    Args:
        dimension: Integer d > 0.
        sigma: Finite float > 0, standard deviation of the noise.
        scale, shift: Finite floats, scale != 0, the map f.
    """
    dimension = _validation.positive_int("dimension", dimension)
    sigma = _validation.positive_float("sigma", sigma)
    scale = _validation.finite_float("scale", scale)
    shift = _validation.finite_float("shift", shift)
    if scale == 0:
        raise _validation.error("scale", "a non-zero float", scale)
    root = -shift / scale
    integrand = lambda x: (math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # noqa: E731
                           * math.log(abs(scale * x + shift)))
    expected_log = sum(integrate.quad(integrand, low, high, limit=200)[0]
                       for low, high in ((-np.inf, root), (root, np.inf)))
    return dimension * (0.5 * math.log(2 * math.pi * math.e * sigma ** 2) + expected_log)


def mixture_information_1d(points, sigma, num_nodes=32, block_size=256):
    """Exact I(X; Z) in nats for X uniform on `points`, Z = X * N(1, sigma^2).

    Z is the mixture (1/n) sum_k N(f_k, sigma^2 f_k^2), so I = h(Z) - h(Z|X)
    with h(Z|X) = mean_k log(sigma |f_k| sqrt(2 pi e)) in closed form and
    h(Z) = -(1/n) sum_k E_{z ~ component k} log p(z), each expectation by
    Gauss-Hermite quadrature in that component's own scale, so narrow
    components (f_k near 0) are resolved as well as wide ones. Compare two
    `num_nodes` for the quadrature's error.

    Args:
        points: (n,) finite non-zero values f(x_k), n >= 1.
        sigma: Finite float > 0.
        num_nodes: Integer > 0, Gauss-Hermite nodes per component.
        block_size: Integer > 0, components integrated at once.
    """
    f = _validation.finite_array("points", points).reshape(-1)
    sigma = _validation.positive_float("sigma", sigma)
    num_nodes = _validation.positive_int("num_nodes", num_nodes)
    block_size = _validation.positive_int("block_size", block_size)
    if np.any(f == 0):
        raise _validation.error("points", "non-zero values (a zero has no noise and no "
                                "density)", f"{int(np.sum(f == 0))} zeros")
    scales = sigma * np.abs(f)
    nodes, weights = np.polynomial.hermite.hermgauss(num_nodes)
    weights = weights / math.sqrt(math.pi)
    log_norm = -np.log(scales) - 0.5 * math.log(2 * math.pi) - math.log(len(f))
    expected_log_density = []
    for start in range(0, len(f), block_size):
        z = (f[start:start + block_size, None]
             + math.sqrt(2) * scales[start:start + block_size, None] * nodes).reshape(-1)
        log_components = -0.5 * ((z[:, None] - f) / scales) ** 2 + log_norm
        # log-sum-exp by hand: scipy's makes extra passes over this n x n array.
        peak = log_components.max(axis=1, keepdims=True)
        log_density = (peak[:, 0] + np.log(np.exp(log_components - peak).sum(axis=1))
                       ).reshape(-1, num_nodes)
        expected_log_density.append(log_density @ weights)
    entropy = -float(np.mean(np.concatenate(expected_log_density)))
    conditional = float(np.mean(np.log(scales * math.sqrt(2 * math.pi * math.e))))
    return entropy - conditional


def _measure(x, sigma, rng, mine_steps):
    """Every estimate on inputs x (n, d)."""
    n = len(x)
    f = SCALE * x + SHIFT
    started = time.time()
    package = gaussian_dropout_information(f, sigma, num_samples=DRAWS_PER_INPUT * n,
                                           seed=int(rng.integers(2**31)))
    draws = f * (1 + sigma * rng.standard_normal((DRAWS_PER_INPUT,) + f.shape))
    point = {
        "conditional_entropy": package["conditional_entropy"],
        "entropy": package["entropy"],
        "entropy_upper_bound": package["entropy_upper_bound"],
        "mutual_information": package["mutual_information"],
        "mutual_information_standard_error": package["mutual_information_standard_error"],
        "binning": {str(b): binning_information(draws[0], bin_size=b)["mutual_information_x"]
                    for b in BIN_SIZES},
        "mine": mine_lower_bound(np.tile(x, (DRAWS_PER_INPUT, 1)),
                                 draws.reshape(-1, f.shape[1]), steps=mine_steps,
                                 seed=int(rng.integers(2**31))),
        "log_n": math.log(n)}
    if f.shape[1] == 1:
        exact = mixture_information_1d(f[:, 0], sigma)
        point["exact_mutual_information"] = exact
        point["exact_quadrature_difference"] = abs(
            exact - mixture_information_1d(f[:, 0], sigma, num_nodes=16))
    point["seconds"] = time.time() - started
    return point


def study(dimensions=DIMENSIONS, num_inputs=NUM_INPUTS, sigma=SIGMA, mine_steps=1000, seed=0):
    """{"d": {"n": estimates}} and the exact h(Z|X) per dimension."""
    rng = np.random.default_rng(seed)
    results = {"sigma": sigma, "draws_per_input": DRAWS_PER_INPUT, "bin_sizes": list(BIN_SIZES),
               "mine_steps": mine_steps, "dimensions": {}}
    for d in dimensions:
        x = rng.standard_normal((max(num_inputs), d))
        exact = toy_conditional_entropy(d, sigma)
        by_n = {}
        for n in num_inputs:
            by_n[str(n)] = _measure(x[:n], sigma, rng, mine_steps)
            by_n[str(n)]["conditional_entropy_error"] = (
                by_n[str(n)]["conditional_entropy"] - exact)
            print(f"d={d} n={n}: {by_n[str(n)]}", file=sys.stderr, flush=True)
        results["dimensions"][str(d)] = {"exact_conditional_entropy": exact, "inputs": by_n}
    return results


def figure_of(results):
    """h(Z|X) per dimension against n (Fig. 2), then I(X; Z) per d (Fig. 4)."""
    dimensions = list(results["dimensions"])
    figure = Figure(figsize=(13, 7.5), layout="constrained")
    axes = figure.subplots(2, 3).ravel()
    for index, d in enumerate(dimensions):
        row = results["dimensions"][d]
        ns = [int(n) for n in row["inputs"]]
        color = f"C{index}"
        axes[0].plot(ns, [row["inputs"][str(n)]["conditional_entropy"] / int(d) for n in ns],
                     marker="o", color=color, label=f"d = {d}")
    exact = [results["dimensions"][d]["exact_conditional_entropy"] / int(d) for d in dimensions]
    axes[0].axhline(exact[0], color="k", linestyle="--", label="closed form")
    axes[0].set_ylabel("h(Z|X) / d [nats]")
    axes[0].set_title("Fig. 2: h(Z|X) estimate per dimension")
    axes[0].legend(fontsize=8)
    for axis, d in zip(axes[1:], dimensions):
        points = results["dimensions"][d]["inputs"]
        ns = [int(n) for n in points]
        values = [points[str(n)] for n in ns]
        axis.plot(ns, [v["mutual_information"] for v in values], marker="o",
                  label="mixture (package)")
        axis.plot(ns, [v["mine"] for v in values], marker="s", label="MINE")
        for size in results["bin_sizes"]:
            axis.plot(ns, [v["binning"][str(size)] for v in values], marker=".",
                      linestyle=":", label=f"binning, width {size:g}")
        if "exact_mutual_information" in values[0]:
            axis.plot(ns, [v["exact_mutual_information"] for v in values], "k--",
                      label="exact (X uniform on the n inputs)")
        axis.plot(ns, np.log(ns), color="0.5", linewidth=3, alpha=0.4, label="log n")
        axis.set_title(f"Fig. 4: I(X; Z), d = {d}")
        axis.set_ylabel("nats")
    for axis in axes:
        axis.set_xscale("log")
        axis.set_xlabel("inputs n (10 noise draws each)")
    axes[1].legend(fontsize=7)
    figure.suptitle(f"Adilova et al.'s toy: X ~ N(0, I_d), Z = (2X + 0.5) N(1, "
                    f"{results['sigma'] ** 2:.2g})")
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m infodropout_tf.results.adilova_toy",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder of adilova_toy.json and .png")
    parser.add_argument("--mine_steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        mine_steps = _validation.positive_int("mine_steps", args.mine_steps)
        seed = _validation.non_negative_int("seed", args.seed)
    except ValueError as error:
        parser.error(str(error))
    plots.output_folder(parser, args.out)
    results = study(mine_steps=mine_steps, seed=seed)
    plots.write(args.out, "adilova_toy", results, figure_of(results))


if __name__ == "__main__":
    main()
