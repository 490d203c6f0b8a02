"""MINE against known answers: its bound on correlated Gaussians of known information.

    python -m infodropout_tf.results.mine_study --out docs/results

Pairs (x, z) of `dims` independent coordinates with correlation rho carry
I(X; Z) = -dims/2 log(1 - rho^2) nats, so rho is chosen for each target
information. For each (information, dims) case the MINE bound
(`information.mine_lower_bound`, held-out evaluation) is measured against
the batch size at a fixed number of samples, and against the number of
samples at a fixed batch size, over several seeds (each seed draws new
samples, a new split and a new network). McAllester & Stratos (AISTATS
2020) show that no such bound can certify much more than log n nats from
n samples; the figure draws log n as that ceiling.

Writes `mine.json` (every estimate, each cell's mean, spread and bias, the
grid and the time taken) and `mine.png`. With `--long`, it writes instead
`mine_long.json`: the smallest and largest batch in the 20-dimension cases
with 2,000 steps, to tell the batch size's effect from that of the main
grid's short training (at a fixed number of steps a larger batch also sees
more samples). It computes rather than reading training runs, so it is not
one of `infodropout-reproduce`'s sweeps.
"""

import argparse
import math
import time

import numpy as np
from matplotlib.figure import Figure

from infodropout_tf import information
from infodropout_tf.results import plots

# (information in nats, dims): a weak and a strong dependence in 2
# dimensions, a moderate and a strong one in 20.
CASES = ((0.5, 2), (2.0, 2), (2.0, 20), (8.0, 20))
BATCH_SIZES = (64, 256, 512, 2048)
SAMPLE_SIZES = (256, 1024, 4096, 16384)
# The batch sweep uses SAMPLES samples, the sample sweep BATCH_SIZE per batch
# (at most the training part), so the two sweeps share one cell.
SAMPLES, BATCH_SIZE = 4096, 512


def correlated_gaussians(mutual_information, dims, num_samples, seed):
    """(x, z), each (num_samples, dims), with I(X; Z) = `mutual_information` nats."""
    rho = math.sqrt(-math.expm1(-2.0 * mutual_information / dims))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_samples, dims))
    return x, rho * x + math.sqrt(1.0 - rho**2) * rng.standard_normal((num_samples, dims))


def _cells(seeds):
    """Every (case, batch size, number of samples, seed) to fit, each once."""
    cells = []
    for mutual_information, dims in CASES:
        pairs = [(b, SAMPLES) for b in BATCH_SIZES]
        pairs += [(BATCH_SIZE, n) for n in SAMPLE_SIZES if (BATCH_SIZE, n) not in pairs]
        cells += [(mutual_information, dims, b, n, seed) for b, n in pairs for seed in range(seeds)]
    return cells


def _summarise(fits, mutual_information, dims, key, values, fixed):
    """Mean, standard deviation and bias of the estimates along one sweep."""
    rows = []
    for value in values:
        estimates = [f["estimate"] for f in fits
                     if (f["information"], f["dims"]) == (mutual_information, dims)
                     and f[key] == value and all(f[k] == v for k, v in fixed.items())]
        rows.append({key: value, "mean": float(np.mean(estimates)),
                     "std": float(np.std(estimates, ddof=1)) if len(estimates) > 1 else 0.0,
                     "bias": float(np.mean(estimates) - mutual_information),
                     "estimates": estimates})
    return rows


def study(seeds=3, steps=300, hidden_units=(64, 64)):
    """Fits MINE on every cell of the grid; returns the summary of `mine.json`."""
    fits, started = [], time.monotonic()
    for mutual_information, dims, batch_size, num_samples, seed in _cells(seeds):
        x, z = correlated_gaussians(mutual_information, dims, num_samples, seed)
        began = time.monotonic()
        estimate = information.mine_lower_bound(
            x, z, hidden_units=hidden_units, steps=steps, batch_size=batch_size, seed=seed)
        fits.append({"information": mutual_information, "dims": dims, "batch_size": batch_size,
                     "num_samples": num_samples, "seed": seed, "estimate": estimate,
                     "seconds": round(time.monotonic() - began, 2)})
        print(fits[-1], flush=True)
    cases = {}
    for mutual_information, dims in CASES:
        cases[f"{mutual_information:g} nats, {dims} dims"] = {
            "information": mutual_information, "dims": dims,
            "by_batch_size": _summarise(fits, mutual_information, dims, "batch_size",
                                        BATCH_SIZES, {"num_samples": SAMPLES}),
            "by_num_samples": _summarise(fits, mutual_information, dims, "num_samples",
                                         SAMPLE_SIZES, {"batch_size": BATCH_SIZE}),
        }
    return {
        "protocol": "correlated Gaussians, I = -dims/2 log(1 - rho^2); mine_lower_bound with "
                    f"hidden_units={list(hidden_units)}, steps={steps}, learning_rate 1e-3, "
                    "validation_fraction 0.2 (the bound on the held-out fifth); each seed draws "
                    "new samples, a new split and a new network",
        "grid": {"cases": [list(case) for case in CASES], "batch_sizes": list(BATCH_SIZES),
                 "num_samples_at_batch_sweep": SAMPLES, "sample_sizes": list(SAMPLE_SIZES),
                 "batch_size_at_sample_sweep": BATCH_SIZE, "seeds": seeds, "steps": steps},
        "ceiling": "McAllester & Stratos (2020): a lower bound from n samples certifies at most "
                   "about log n nats",
        "minutes": round((time.monotonic() - started) / 60, 1),
        "cases": cases, "fits": fits}


def long_training(seeds=2, steps=2000):
    """The 20-dimension cases at the smallest and largest batch size with
    `steps` Adam steps; returns the summary of `mine_long.json`."""
    fits = []
    for mutual_information, dims in [case for case in CASES if case[1] == 20]:
        for batch_size in (min(BATCH_SIZES), max(BATCH_SIZES)):
            for seed in range(seeds):
                x, z = correlated_gaussians(mutual_information, dims, SAMPLES, seed)
                fits.append({"information": mutual_information, "dims": dims,
                             "batch_size": batch_size, "num_samples": SAMPLES, "seed": seed,
                             "estimate": information.mine_lower_bound(
                                 x, z, steps=steps, batch_size=batch_size, seed=seed)})
                print(fits[-1], flush=True)
    return {"protocol": f"as mine.json's batch sweep, with {steps} steps", "steps": steps,
            "seeds": seeds, "fits": fits}


def plot(summary):
    """Estimate against batch size (top) and number of samples (bottom), one
    panel per case, the truth dashed and log n dotted."""
    cases = summary["cases"]
    figure = Figure(figsize=(3.4 * len(cases), 6.4), layout="constrained")
    axes = figure.subplots(2, len(cases), squeeze=False)
    for column, (name, case) in enumerate(cases.items()):
        for row, (key, label) in enumerate((("batch_size", "batch size"),
                                            ("num_samples", "number of samples n"))):
            axis, sweep = axes[row][column], case[f"by_{key}"]
            values = [entry[key] for entry in sweep]
            axis.errorbar(values, [e["mean"] for e in sweep], yerr=[e["std"] for e in sweep],
                          marker="o", capsize=3, label="MINE (mean ± sd over seeds)")
            axis.axhline(case["information"], color="black", linestyle="--", label="truth")
            if key == "num_samples":
                axis.plot(values, np.log(values), color="gray", linestyle=":",
                          label="log n (McAllester & Stratos)")
            axis.set_xscale("log", base=2)
            axis.set_xlabel(label)
            axis.set_ylabel("I(X; Z) [nats]")
            axis.set_title(name, fontsize=10)
    axes[0][0].legend(fontsize=7)
    axes[1][0].legend(fontsize=7)
    figure.suptitle(f"MINE on correlated Gaussians ({summary['grid']['steps']} steps; "
                    f"top: n = {SAMPLES}, bottom: batch {BATCH_SIZE})")
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m infodropout_tf.results.mine_study",
        description="MINE's bound on correlated Gaussians of known information, against "
                    "batch size and number of samples; writes mine.json and mine.png.")
    parser.add_argument("--out", default="docs/results", help="output folder")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per cell (default 3)")
    parser.add_argument("--steps", type=int, default=300,
                        help="Adam steps per fit (default 300; 2000 with --long)")
    parser.add_argument("--long", action="store_true",
                        help="only the long-training check, written to mine_long.json")
    args = parser.parse_args(argv)
    plots.output_folder(parser, args.out)
    if args.long:
        plots.write(args.out, "mine_long", long_training(seeds=args.seeds,
                                                         steps=max(args.steps, 2000)))
        return
    summary = study(seeds=args.seeds, steps=args.steps)
    plots.write(args.out, "mine", summary, plot(summary))


if __name__ == "__main__":
    main()
