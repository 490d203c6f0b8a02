"""Per-image standardisation and ZCA whitening, as the original process_cifar.py.

Each image is standardised to mean 0 and (unbiased) standard deviation 1;
then the whitening matrix W = U diag(1 / (s + 1e-5)) U^T, with U and s^2
the eigenvectors and eigenvalues of the covariance of the standardised
training images, maps them to (nearly) identity covariance while staying as
close as possible to the originals (zero-phase component analysis). The
standardisation removes the constant direction, so that direction has zero
variance before and after whitening.

The stored matrix is read back only after its file has been checked: the
two arrays' headers (names, dtype, shapes, with `MAX_DIMENSION` bounding the
size a header may claim) before any array is read, then finite values.
"""

import os
import zipfile

import numpy as np

from infodropout_tf import atomic_files

REGULARIZER = 1e-5
FILENAME = "zca_whitening.npz"
# The largest image size (values per image) whose stored whitening is read:
# a 8192 x 8192 float32 matrix is 256 MiB. CIFAR-10's is 3 * 32 * 32 = 3072
# (36 MiB); a file claiming more is refused before anything is allocated.
MAX_DIMENSION = 8192
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


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


def _stored_headers(archive):
    """{name: (shape, dtype)} of the `.npy` members of an open `.npz`."""
    headers = {}
    for name in archive.namelist():
        with archive.open(name) as member:
            version = np.lib.format.read_magic(member)
            if version not in _HEADER_READERS:
                raise ValueError(f"{name} has .npy format version {version}")
            shape, _, dtype = _HEADER_READERS[version](member)
        headers[name] = (shape, dtype)
    return headers


def _header_problem(headers):
    """What makes stored headers not those of a whitening, or None."""
    if sorted(headers) != ["matrix.npy", "mean.npy"]:
        return f"it holds {sorted(headers)}, not matrix.npy and mean.npy"
    (matrix_shape, matrix_dtype), (mean_shape, mean_dtype) = (
        headers["matrix.npy"], headers["mean.npy"])
    if matrix_dtype != np.float32 or mean_dtype != np.float32:
        return f"its arrays are {matrix_dtype} and {mean_dtype}, not float32"
    if (len(mean_shape) != 1 or not 1 <= mean_shape[0] <= MAX_DIMENSION
            or matrix_shape != mean_shape * 2):
        return (f"its matrix has shape {matrix_shape} and its mean {mean_shape}, not "
                f"(d, d) and (d,) with 1 <= d <= {MAX_DIMENSION}")
    return None


def _load(path):
    """The `(matrix, mean)` stored at `path`, checked before they are read.

    Raises:
        ValueError: naming the file, what is wrong and the fix (delete it:
            it is fitted again).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            problem = _header_problem(_stored_headers(archive))
        if problem is None:
            with np.load(path, allow_pickle=False) as stored:
                matrix, mean = stored["matrix"], stored["mean"]
            if not (np.isfinite(matrix).all() and np.isfinite(mean).all()):
                problem = "it holds values that are not finite"
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        problem = f"it could not be read: {error}"
    if problem is not None:
        raise ValueError(
            f"{path} is not a ZCA whitening stored by infodropout_tf: {problem}. Delete it; "
            "the whitening is fitted again from the training images and stored there at "
            "the next load."
        )
    return matrix, mean


def load_or_fit(directory, training_images_fn):
    """Reads the whitening stored in `directory`, or fits and stores it.

    Args:
        directory: Folder of the prepared dataset (the matrix is stored
            beside the data, as `zca_whitening.npz`).
        training_images_fn: Callable returning the uint8 training images;
            called only when no stored matrix exists.

    Returns:
        `(matrix, mean)`.

    Raises:
        ValueError: the stored file is not a whitening (see `_load`); it is
            never overwritten, the message says to delete it.
    """
    path = os.path.join(directory, FILENAME)
    if os.path.exists(path):
        return _load(path)
    matrix, mean = fit(training_images_fn())
    # Written aside and renamed: never a half-written matrix.
    atomic_files.write_with(path, lambda temporary: np.savez(temporary, matrix=matrix, mean=mean))
    return matrix, mean
