"""Time of the Gaussian-dropout mutual-information estimator next to numpy.

Times `infodropout_tf.information.gaussian_dropout_information` (Adilova et
al.'s Algorithm 1 for Z = f(X) * eps, eps ~ N(1, sigma^2): samples z of the
Gaussian mixture over the data, log p(z) by log-sum-exp over all its
components, evaluated in TensorFlow as matrix products; I(X; Z) is the mean
of log p(z|x) - log p(z) and h(Z) the mean of -log p(z)) on 10,000 examples
x 1,000 Monte-Carlo samples x 128 units, that is:

* `representations`: (10,000, 128), f(x) of 10,000 examples, 128 units;
* `num_components=None`: all 10,000 examples are mixture components;
* `num_samples=1000`: Monte-Carlo samples of Z;

so 1,000 samples are evaluated against 10,000 components in 128 dimensions.
Side by side in the same run (the three alternate over several rounds; the
table gives the median time of each) it times two plain numpy versions of
the same estimate written here, chunked over samples to bound memory:

* "numpy, differences": sum_j (z_j - m_kj)^2 / s_kj^2 computed directly
  (chunks of samples x components x units), then log-sum-exp;
* "numpy, matrix products": the same quadratic form expanded into two
  matrix products, as the package does, in numpy (float64 BLAS).

Both draw exactly the samples the package draws (the same generator calls
with the same seed), so the estimates must agree to rounding; the script
prints all of them. The representations are a ReLU layer's outputs on random
inputs (128 units from 16 random input dimensions, bias 5, so that nearly
all units are active and I(X; Z) is about 5 nats, well inside [0, log n]:
with many inactive units it saturates at log n and the check would be
trivial); sigma = 1 (Gaussian dropout rate 0.5). Nothing here asserts a
time.

    python benchmarks/information_estimators.py

`--quick` runs 1,000 examples and one round.
"""

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

from infodropout_tf.information import gaussian_dropout_information

SIGMA = 1.0  # sqrt(rate / (1 - rate)) for Gaussian dropout rate 0.5
MIN_SCALE = 1e-6  # the package's default floor of sigma * |f|
SEED = 0


def relu_representations(num_examples, units, input_dim=16, bias=5.0, seed=1):
    """f(x) = relu(x W + bias) for Gaussian inputs x: a ReLU layer's outputs."""
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((num_examples, input_dim))
    weights = rng.standard_normal((input_dim, units)) / np.sqrt(input_dim)
    return np.maximum(inputs @ weights + bias, 0.0)


def mixture_samples(representations, num_samples):
    """Components, their scales, samples of the mixture and each sample's
    log density under its own component, drawn as the package draws them."""
    f = np.asarray(representations, np.float64)
    rng = np.random.default_rng(SEED)
    scales = np.maximum(SIGMA * np.abs(f), MIN_SCALE)
    components = rng.choice(len(f), size=len(f), replace=False)  # all of them
    means, component_scales = f[components], scales[components]
    chosen = rng.integers(len(components), size=num_samples)
    noise = rng.standard_normal((num_samples, f.shape[1]))
    samples = means[chosen] + component_scales[chosen] * noise
    own_log_density = -np.sum(0.5 * np.log(2 * np.pi) + np.log(component_scales[chosen])
                              + 0.5 * np.square(noise), axis=1)  # log p(z | x)
    return means, component_scales, samples, own_log_density


def log_sum_exp(values):
    """log sum_k exp(values[:, k]), per row."""
    largest = np.max(values, axis=1)
    return largest + np.log(np.sum(np.exp(values - largest[:, None]), axis=1))


def numpy_differences(representations, num_samples, chunk=8):
    """(I(X; Z), h(Z)) with the component densities computed from the
    differences z - m directly, `chunk` samples at a time."""
    means, scales, samples, own_log_density = mixture_samples(representations, num_samples)
    count, units = means.shape
    # log of each component's normalising constant, (count,)
    log_normaliser = -np.sum(np.log(scales), axis=1) - 0.5 * units * np.log(2 * np.pi)
    log_density = np.empty(num_samples)  # log p(z)
    for start in range(0, num_samples, chunk):
        block = samples[start:start + chunk]  # (b, units)
        standardized = (block[:, None, :] - means[None, :, :]) / scales[None, :, :]
        log_components = log_normaliser - 0.5 * np.sum(np.square(standardized), axis=2)  # (b, count)
        log_density[start:start + chunk] = log_sum_exp(log_components) - np.log(count)
    return np.mean(own_log_density - log_density), -np.mean(log_density)


def numpy_matrix_products(representations, num_samples, chunk=1000):
    """The same estimate with the quadratic form expanded into matrix
    products: sum_j z_j^2 / s_kj^2 - 2 z_j m_kj / s_kj^2 + m_kj^2 / s_kj^2."""
    means, scales, samples, own_log_density = mixture_samples(representations, num_samples)
    count, units = means.shape
    inverse_variance = 1.0 / np.square(scales)  # (count, units)
    constant = -0.5 * (np.sum(np.square(means) * inverse_variance, axis=1)
                       + 2.0 * np.sum(np.log(scales), axis=1) + units * np.log(2 * np.pi))
    log_density = np.empty(num_samples)
    for start in range(0, num_samples, chunk):
        block = samples[start:start + chunk]
        quadratic = (-0.5 * np.square(block) @ inverse_variance.T
                     + block @ (means * inverse_variance).T)  # (b, count)
        log_density[start:start + chunk] = log_sum_exp(quadratic + constant) - np.log(count)
    return np.mean(own_log_density - log_density), -np.mean(log_density)


def package_estimate(representations, num_samples):
    result = gaussian_dropout_information(
        representations, SIGMA, num_components=None, num_samples=num_samples,
        min_scale=MIN_SCALE, seed=SEED)
    return result["mutual_information"], result["entropy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1_000)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 examples, one round")
    args = parser.parse_args()
    examples, rounds = (1_000, 1) if args.quick else (args.examples, args.rounds)

    representations = relu_representations(examples, args.units)
    estimators = {
        "gaussian_dropout_information (TF)": package_estimate,
        "numpy, differences": numpy_differences,
        "numpy, matrix products": numpy_matrix_products,
    }
    package_estimate(representations[:100], 10)  # load TensorFlow's kernels once
    times = {name: [] for name in estimators}
    estimates = {}
    for round_index in range(rounds):
        names = list(estimators)
        names = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in names:
            start = time.perf_counter()
            estimates[name] = estimators[name](representations, args.samples)
            times[name].append(time.perf_counter() - start)
            print(f"round {round_index + 1}, {name}: {times[name][-1]:.2f} s", flush=True)

    package = statistics.median(times["gaussian_dropout_information (TF)"])
    print(f"\n{examples:,} examples (mixture components) x {args.samples:,} Monte-Carlo samples"
          f" x {args.units} units, sigma {SIGMA}; median of {rounds} rounds;"
          f" TensorFlow {tf.__version__}, numpy {np.__version__}")
    print(f"{'estimator':36s} {'seconds':>8s} {'/ package':>10s} {'I(X;Z) nats':>13s}"
          f" {'h(Z) nats':>13s}")
    for name in estimators:
        seconds = statistics.median(times[name])
        information, entropy = estimates[name]
        print(f"{name:36s} {seconds:8.2f} {seconds / package:10.1f} {information:13.6f}"
              f" {entropy:13.6f}")
    reference = estimates["gaussian_dropout_information (TF)"][0]
    worst = max(abs(information - reference) for information, _ in estimates.values())
    print(f"largest difference from the package's I(X;Z): {worst:.2e} nats"
          f" (log n = {np.log(examples):.4f})")


if __name__ == "__main__":
    main()
