"""The binning estimator of information-plane studies (Shwartz-Ziv & Tishby 2017).

Each unit's activation is discretised into bins and every distinct pattern
of bins is one value of T. For a deterministic representation of n distinct
inputs, I(X; T) = H(T) (between 0, one bin, and log n, every input in its own
pattern), and I(T; Y) = H(T) - H(T | Y). The values depend on the binning,
which is the reason for the estimators with noise (Adilova et al. 2023);
they are reported for comparison.
"""

import numpy as np


def _entropy(patterns):
    _, counts = np.unique(patterns, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p))) + 0.0  # no negative zero


def discretize(representations, num_bins=30, bin_size=None):
    """Bin indices of every unit: `num_bins` equal bins over the global
    [min, max], or bins of width `bin_size` from 0."""
    t = np.asarray(representations, np.float64).reshape(len(representations), -1)
    if bin_size is not None:
        if not bin_size > 0:
            raise ValueError(
                f"Invalid value received for argument `bin_size`. Expected a float > 0. Received: bin_size={bin_size!r}"
            )
        return np.floor(t / bin_size).astype(np.int64)
    if not (isinstance(num_bins, int) and num_bins > 0):
        raise ValueError(
            f"Invalid value received for argument `num_bins`. Expected a positive integer. Received: num_bins={num_bins!r}"
        )
    low, high = t.min(), t.max()
    if high == low:
        return np.zeros_like(t, np.int64)
    return np.minimum(((t - low) / (high - low) * num_bins).astype(np.int64), num_bins - 1)


def binning_information(representations, labels=None, num_bins=30, bin_size=None):
    """Binned I(X; T) and, with labels, I(T; Y), in nats.

    Args:
        representations: (n, ...) activations of n distinct inputs.
        labels: Optional (n,) integer labels.
        num_bins: Integer, equal bins over the activations' range.
        bin_size: Float, fixed bin width instead of `num_bins`.

    Returns:
        Dict with `mutual_information_x` and, with labels,
        `mutual_information_y`.
    """
    patterns = discretize(representations, num_bins, bin_size)
    entropy = _entropy(patterns)
    results = {"mutual_information_x": entropy}
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        conditional = sum(
            np.mean(labels == label) * _entropy(patterns[labels == label])
            for label in np.unique(labels)
        )
        results["mutual_information_y"] = entropy - conditional
    return results
