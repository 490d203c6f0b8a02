"""The binning estimator of information-plane studies (Shwartz-Ziv & Tishby 2017).

Each unit's activation is discretised into bins and every distinct pattern
of bins is one value of T. For a deterministic representation of n distinct
inputs, I(X; T) = H(T) (between 0, one bin, and log n, every input in its own
pattern), and I(T; Y) = H(T) - H(T | Y). The values depend on the binning,
which is the reason for the estimators with noise (Adilova et al. 2023);
they are reported for comparison.
"""

import numpy as np

from infodropout_tf import _validation


def _entropy(patterns):
    _, counts = np.unique(patterns, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p))) + 0.0  # no negative zero


def discretize(representations, num_bins=30, bin_size=None):
    """Bin indices of every unit: `num_bins` equal bins over the global
    [min, max], or bins of width `bin_size` from 0.

    A constant representation falls in a single bin (all indices 0).
    Arguments as in `binning_information`.
    """
    t = _validation.finite_array("representations", representations)
    t = t.reshape(len(t), -1)
    bin_size = _validation.positive_float("bin_size", bin_size, allow_none=True)
    if bin_size is not None:
        return np.floor(t / bin_size).astype(np.int64)
    num_bins = _validation.positive_int("num_bins", num_bins)
    low, high = t.min(), t.max()
    if high == low:
        return np.zeros_like(t, np.int64)
    return np.minimum(((t - low) / (high - low) * num_bins).astype(np.int64), num_bins - 1)


def binning_information(representations, labels=None, num_bins=30, bin_size=None):
    """Binned I(X; T) and, with labels, I(T; Y), in nats.

    For one layer's activations T of n distinct inputs X, against their
    discrete labels Y. It is not an estimator of the information between
    two continuous variables: `mutual_information_x` is the entropy of the
    binned T, which equals I(X; T) only because T is a deterministic
    function of X and every input is its own value of X, and `labels` are
    treated as discrete classes (each distinct value one class). For two
    continuous variables use `mine_lower_bound`, or
    `gaussian_mutual_information` for jointly Gaussian ones.

    Args:
        representations: (n, ...) finite activations of n >= 1 distinct
            inputs.
        labels: Optional (n,) integer labels, one per input.
        num_bins: Integer > 0, equal bins over the activations' range.
        bin_size: Finite float > 0 or None, a fixed bin width used instead
            of `num_bins`.

    Returns:
        Dict with `mutual_information_x` and, with labels,
        `mutual_information_y`.
    """
    patterns = discretize(representations, num_bins, bin_size)
    entropy = _entropy(patterns)
    results = {"mutual_information_x": entropy}
    if labels is not None:
        labels = _validation.finite_array("labels", labels).reshape(-1)
        _validation.same_rows("labels", labels, "representations", len(patterns))
        conditional = sum(
            np.mean(labels == label) * _entropy(patterns[labels == label])
            for label in np.unique(labels)
        )
        results["mutual_information_y"] = entropy - conditional
    return results
