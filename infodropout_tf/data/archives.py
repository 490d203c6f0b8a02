"""Reading the standard MNIST and CIFAR-10 archives, with clear errors.

Offline clusters get these files by hand, so a truncated download or a
wrong file is the common failure: every reader here checks headers and sizes
and raises `ValueError` naming the file and the fix before any dataset is
written.
"""

import gzip
import os
import pickle
import tarfile
import zlib

import numpy as np

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_BATCHES = {
    "train": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)],
    "test": ["cifar-10-batches-py/test_batch"],
}


def _require_file(path, how_to_get):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Missing archive {path}. {how_to_get}")


def _read_gzip(path, how_to_get):
    _require_file(path, how_to_get)
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"{path} is not a complete gzip archive ({error}). The download "
            f"was probably truncated or corrupted: {how_to_get}"
        ) from error


def read_mnist(source_dir, split):
    """Returns `(images uint8 (n, 28, 28, 1), labels int64 (n,))` of a split.

    Args:
        source_dir: Folder holding the four MNIST `.gz` IDX files.
        split: `"train"` or `"test"`.
    """
    images_name, labels_name, count = MNIST_FILES[split]
    how_to_get = (
        f"Download {MNIST_URL}{images_name} and {MNIST_URL}{labels_name} "
        f"into {source_dir}."
    )
    images = _read_gzip(os.path.join(source_dir, images_name), how_to_get)
    labels = _read_gzip(os.path.join(source_dir, labels_name), how_to_get)
    image_header = np.frombuffer(images[:16], ">u4")
    label_header = np.frombuffer(labels[:8], ">u4")
    if (
        len(image_header) != 4
        or tuple(image_header) != (2051, count, 28, 28)
        or len(images) != 16 + count * 28 * 28
    ):
        raise ValueError(
            f"{os.path.join(source_dir, images_name)} is not the MNIST {split} "
            f"images file: expected an IDX header (2051, {count}, 28, 28) and "
            f"{16 + count * 784} bytes, found {tuple(image_header)} and "
            f"{len(images)} bytes. {how_to_get}"
        )
    if (
        len(label_header) != 2
        or tuple(label_header) != (2049, count)
        or len(labels) != 8 + count
    ):
        raise ValueError(
            f"{os.path.join(source_dir, labels_name)} is not the MNIST {split} "
            f"labels file: expected an IDX header (2049, {count}) and "
            f"{8 + count} bytes, found {tuple(label_header)} and {len(labels)} "
            f"bytes. {how_to_get}"
        )
    return (
        np.frombuffer(images, np.uint8, offset=16).reshape(count, 28, 28, 1),
        np.frombuffer(labels, np.uint8, offset=8).astype(np.int64),
    )


def read_cifar10(source_dir, split):
    """Returns `(images uint8 (n, 32, 32, 3), labels int64 (n,), label names)`.

    Args:
        source_dir: Folder holding `cifar-10-python.tar.gz` (the "CIFAR-10
            python version" archive).
        split: `"train"` or `"test"`.
    """
    path = os.path.join(source_dir, CIFAR10_ARCHIVE)
    how_to_get = f"Download {CIFAR10_URL} into {source_dir}."
    _require_file(path, how_to_get)
    images, labels = [], []
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = set(archive.getnames())
            wanted = CIFAR10_BATCHES[split] + ["cifar-10-batches-py/batches.meta"]
            missing = [name for name in wanted if name not in names]
            if missing:
                raise ValueError(
                    f"{path} lacks {missing}; it is not the CIFAR-10 python "
                    f"archive. {how_to_get}"
                )
            meta = pickle.load(archive.extractfile("cifar-10-batches-py/batches.meta"),
                               encoding="latin1")
            for name in CIFAR10_BATCHES[split]:
                batch = pickle.load(archive.extractfile(name), encoding="latin1")
                data = np.asarray(batch["data"], np.uint8)
                if data.ndim != 2 or data.shape[1] != 3072:
                    raise ValueError(
                        f"{path}: {name} holds data of shape {data.shape}, "
                        f"expected (n, 3072). {how_to_get}"
                    )
                images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                labels.append(np.asarray(batch["labels"], np.int64))
    except (tarfile.TarError, EOFError, OSError, zlib.error, pickle.UnpicklingError) as error:
        raise ValueError(
            f"{path} could not be read ({error}). The download was probably "
            f"truncated or corrupted: {how_to_get}"
        ) from error
    return np.concatenate(images), np.concatenate(labels), list(meta["label_names"])
