"""Per-image standardisation and ZCA whitening, as the original process_cifar.py.

Each image is standardised to mean 0 and (unbiased) standard deviation 1;
then the whitening matrix W = U diag(1 / (s + 1e-5)) U^T, with U and s^2
the eigenvectors and eigenvalues of the covariance of the standardised
training images, maps them to (nearly) identity covariance while staying as
close as possible to the originals (zero-phase component analysis). The
standardisation removes the constant direction, so that direction has zero
variance before and after whitening.
"""

import os

import numpy as np

from infodropout_tf import atomic_files
REGULARIZER = 1e-5
FILENAME = "zca_whitening.npz"


def standardize(images):
    """Per-image mean 0, standard deviation 1 (ddof=1); float64 (n, d)."""
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    std = flat.std(axis=1, ddof=1, keepdims=True)
    std[std < 1e-8] = 1.0
    return flat / std


def fit(images):
    """Returns `(matrix float32 (d, d), mean float32 (d,))` of ZCA whitening."""
    flat = standardize(images)
    mean = flat.mean(axis=0)
    centered = flat - mean
    covariance = centered.T @ centered / (len(flat) - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    scale = 1.0 / (np.sqrt(np.maximum(eigenvalues, 0.0)) + REGULARIZER)
    matrix = (eigenvectors * scale) @ eigenvectors.T
    return matrix.astype(np.float32), mean.astype(np.float32)


def load_or_fit(directory, training_images_fn):
    """Reads the whitening stored in `directory`, or fits and stores it.

    Args:
        directory: Folder of the prepared dataset (the matrix is stored
            beside the data, as `zca_whitening.npz`).
        training_images_fn: Callable returning the uint8 training images;
            called only when no stored matrix exists.

    Returns:
        `(matrix, mean)`.
    """
    path = os.path.join(directory, FILENAME)
    if os.path.exists(path):
        with np.load(path) as stored:
            return stored["matrix"], stored["mean"]
    matrix, mean = fit(training_images_fn())
    # Written aside and renamed: never a half-written matrix.
    atomic_files.write_with(path, lambda temporary: np.savez(temporary, matrix=matrix, mean=mean))
    return matrix, mean
