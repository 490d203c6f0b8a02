"""Reading the standard MNIST and CIFAR-10 archives, with clear errors.

Offline clusters get these files by hand, so a truncated download or a
wrong file is the common failure: every reader here checks headers and sizes
and raises `ValueError` naming the file and the fix before any dataset is
written.

The CIFAR-10 archive holds pickles, and unpickling a crafted file runs
whatever code it names. So its checksum is verified before anything is read
from it, and its pickles are read by an unpickler that builds only the numpy
arrays, lists and strings the real batches hold.
"""

import gzip
import hashlib
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
# The digest https://www.cs.toronto.edu/~kriz/cifar.html publishes.
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
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


# Every global the CIFAR-10 python pickles name: each batch is a dict of
# strings, lists of ints and one uint8 array, and numpy rebuilds an array
# from `_reconstruct`, `ndarray` and `dtype`. The archive was written by
# numpy 1 (`numpy.core`); arrays pickled by numpy 2 name `numpy._core`.
_CIFAR10_GLOBALS = frozenset([
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
])


class _RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global a CIFAR-10 batch never holds."""


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10 batches without running code they name.

    A pickle runs code only through the callables and classes it imports by
    name, and every import goes through `find_class`; admitting only the
    numpy array constructors leaves a crafted file nothing to call.
    """

    def find_class(self, module, name):
        if (module, name) not in _CIFAR10_GLOBALS:
            raise _RefusedGlobal(f"names the global {module}.{name}")
        return super().find_class(module, name)


def _md5(path):
    # Streamed in 1 MiB chunks: the archive is 163 MB. MD5 because it is the
    # digest the CIFAR page publishes; `usedforsecurity=False` only lets
    # FIPS-mode Pythons compute it. A crafted file is stopped by the
    # restricted unpickler as well.
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unpickle_member(archive, path, member, keys, how_to_get):
    """The dict pickled in `member`, which must hold `keys`."""
    file = archive.extractfile(member)
    if file is None:  # A directory or link where a batch file should be.
        raise ValueError(
            f"{path}: {member} is not a regular file; the archive is not the "
            f"CIFAR-10 python archive. {how_to_get}"
        )
    try:
        # latin1: the batches were pickled by Python 2, whose byte strings
        # (names and raw pixels) decode one character per byte.
        content = _CifarUnpickler(file, encoding="latin1").load()
    except _RefusedGlobal as error:
        raise ValueError(
            f"{path}: {member} {error}, which a CIFAR-10 batch never holds; the "
            "archive is not the official CIFAR-10 archive and was not "
            f"unpickled further. {how_to_get}"
        ) from error
    if not isinstance(content, dict) or any(key not in content for key in keys):
        raise ValueError(
            f"{path}: {member} holds no dict with keys {list(keys)}; the archive "
            f"is not the CIFAR-10 python archive. {how_to_get}"
        )
    return content


def read_cifar10(source_dir, split, verify_checksum=True):
    """Returns `(images uint8 (n, 32, 32, 3), labels int64 (n,), label names)`.

    The archive's MD5 is checked before anything is read from it, and its
    pickles are read by an unpickler that builds only numpy arrays, lists and
    strings, so a crafted archive cannot run code.

    Args:
        source_dir: Folder holding `cifar-10-python.tar.gz` (the "CIFAR-10
            python version" archive).
        split: `"train"` or `"test"`.
        verify_checksum: Whether to require the official archive's MD5,
            `CIFAR10_MD5`. `False` only for an archive you built yourself in
            the same layout, such as test data; its pickles are still read
            by the restricted unpickler.
    """
    if not isinstance(verify_checksum, bool):
        raise ValueError(
            "Invalid value received for argument `verify_checksum`. Expected "
            f"True or False. Received: verify_checksum={verify_checksum!r}"
        )
    path = os.path.join(source_dir, CIFAR10_ARCHIVE)
    how_to_get = f"Download {CIFAR10_URL} into {source_dir}."
    _require_file(path, how_to_get)
    if verify_checksum:
        found = _md5(path)
        if found != CIFAR10_MD5:
            raise ValueError(
                f"{path} has MD5 {found}, expected {CIFAR10_MD5} (the official "
                f"CIFAR-10 python archive). Download {CIFAR10_URL} into "
                f"{source_dir}; for an archive you built yourself, such as test "
                "data, pass verify_checksum=False (--skip_checksum)."
            )
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
            meta = _unpickle_member(
                archive, path, "cifar-10-batches-py/batches.meta", ["label_names"],
                how_to_get,
            )
            for name in CIFAR10_BATCHES[split]:
                batch = _unpickle_member(archive, path, name, ["data", "labels"], how_to_get)
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
