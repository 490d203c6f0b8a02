"""Reading the standard MNIST and CIFAR-10 archives, with clear errors.

Offline clusters get these files by hand, so a truncated download or a
wrong file is the common failure: every reader here checks headers and sizes
and raises `ValueError` naming the file and the fix before any dataset is
written.

The CIFAR-10 archive holds pickles, and unpickling a crafted file runs
whatever code it names. So its checksum is verified before anything is read
from it, and its pickles are read by an unpickler that builds only the numpy
arrays, lists and strings the real batches hold; what they build is checked
for the real batches' types, shapes and ranges.

Nothing is extracted to disk: wanted members are read into memory, and a
member that is a symbolic or hard link is refused, never followed.
Archives are decompressed as a stream with a cap on the decompressed size
(`MNIST_MAX_BYTES`, `CIFAR10_MAX_BYTES`, `CIFAR10_MAX_MEMBER_BYTES`), so a
small file that inflates to gigabytes (a decompression bomb) is refused
after at most the cap's worth of work and memory.
"""

import gzip
import hashlib
import io
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
CIFAR10_META = "cifar-10-batches-py/batches.meta"
CIFAR10_NUM_CLASSES = 10

# Caps on decompressed sizes, generous so that no real archive comes near
# them and small enough that memory stays bounded whatever a file claims.
# The largest MNIST file, train-images-idx3-ubyte.gz, inflates to
# 16 + 60,000 * 784 = 47,040,016 bytes: 128 MiB is 2.8 times that.
MNIST_MAX_BYTES = 128 << 20
# cifar-10-python.tar.gz inflates to a tar of about 186 MB (six batches of
# about 31 MB each, 10,000 rows of 3,072 bytes, plus headers): 512 MiB is
# 2.9 times that. A member is read whole into memory before unpickling, so
# each has its own cap: 64 MiB is 2.2 times a batch's 31,035,704 bytes.
CIFAR10_MAX_BYTES = 512 << 20
CIFAR10_MAX_MEMBER_BYTES = 64 << 20
# MNIST files are decompressed in 1 MiB reads: a read allocates its size
# up front, and the whole file is never requested at once.
_CHUNK_BYTES = 1 << 20


def _require_file(path, how_to_get):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Missing archive {path}. {how_to_get}")


def _too_large(path, cap, what, how_to_get):
    return ValueError(
        f"{path} inflates to more than {cap} bytes ({cap / (1 << 20):g} MiB, the cap "
        f"for {what}) and was refused there, not decompressed further; a real one "
        f"stays far below the cap. {how_to_get}"
    )


class _CappedGzip:
    """The decompressed stream of a gzip file, refused past `cap` bytes.

    Only `read(size)`: what `tarfile`'s stream mode needs. Each call
    decompresses at most the bytes left under the cap plus one, so the
    work and memory a decompression bomb costs are bounded by the cap,
    whatever size it would inflate to.

    Args:
        path: The gzip file.
        cap: Integer, the most decompressed bytes accepted.
        what: What the cap is for, named in the error.
        how_to_get: The fix, appended to the error.
    """

    def __init__(self, path, cap, what, how_to_get):
        self._path, self._cap, self._what, self._how_to_get = path, cap, what, how_to_get
        self._file = gzip.open(path, "rb")
        self._count = 0

    def read(self, size=-1):
        left = self._cap - self._count + 1
        if size is None or size < 0 or size > left:
            size = left
        data = self._file.read(size)
        self._count += len(data)
        if self._count > self._cap:
            raise _too_large(self._path, self._cap, self._what, self._how_to_get)
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._file.close()


def _read_gzip(path, how_to_get):
    """The decompressed content of an MNIST `.gz` file, at most `MNIST_MAX_BYTES`."""
    _require_file(path, how_to_get)
    content = bytearray()
    try:
        with _CappedGzip(path, MNIST_MAX_BYTES, "an MNIST file", how_to_get) as stream:
            for chunk in iter(lambda: stream.read(_CHUNK_BYTES), b""):
                content += chunk
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"{path} is not a complete gzip archive ({error}). The download "
            f"was probably truncated or corrupted: {how_to_get}"
        ) from error
    return content


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


def _not_cifar(path, member, problem, how_to_get):
    return ValueError(
        f"{path}: {member} {problem}; the archive is not the CIFAR-10 python "
        f"archive. {how_to_get}"
    )


def _unpickle(path, member, content, how_to_get):
    """The object pickled in `content`, the bytes of `member`."""
    try:
        # latin1: the batches were pickled by Python 2, whose byte strings
        # (names and raw pixels) decode one character per byte.
        return _CifarUnpickler(io.BytesIO(content), encoding="latin1").load()
    except _RefusedGlobal as error:
        raise ValueError(
            f"{path}: {member} {error}, which a CIFAR-10 batch never holds; the "
            "archive is not the official CIFAR-10 archive and was not "
            f"unpickled further. {how_to_get}"
        ) from error
    except Exception as error:
        # Malformed pickle bytes make the unpickler raise almost any type
        # (EOFError, KeyError, struct.error, MemoryError for a claimed
        # size, ...): all mean the member is not a batch.
        raise _not_cifar(
            path, member, f"is not a readable pickle ({type(error).__name__}: {error})",
            how_to_get,
        ) from error


def _read_members(path, names, how_to_get):
    """{name: unpickled content} of the members `names` of a `.tar.gz`.

    The archive is read as a stream, decompressed through `_CappedGzip`,
    and reading stops once every member is found. Each member must be a
    regular file of at most `CIFAR10_MAX_MEMBER_BYTES`: links are refused,
    not followed, and nothing is written to disk.
    """
    found = {}
    with _CappedGzip(path, CIFAR10_MAX_BYTES, "the CIFAR-10 archive", how_to_get) as stream:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                if member.name not in names:
                    continue
                if member.issym() or member.islnk():
                    kind = "symbolic" if member.issym() else "hard"
                    raise _not_cifar(
                        path, member.name,
                        f"is a {kind} link to {member.linkname!r}, not a regular file "
                        "(links in an archive are refused, never followed)",
                        how_to_get,
                    )
                if not member.isreg():
                    raise _not_cifar(path, member.name, "is not a regular file", how_to_get)
                if member.size > CIFAR10_MAX_MEMBER_BYTES:
                    raise ValueError(
                        f"{path}: {member.name} is {member.size} bytes by its header, "
                        f"more than the cap of {CIFAR10_MAX_MEMBER_BYTES} bytes "
                        f"({CIFAR10_MAX_MEMBER_BYTES / (1 << 20):g} MiB) on one member, "
                        "and was not read; a real batch is 31,035,704 bytes. "
                        f"{how_to_get}"
                    )
                content = archive.extractfile(member).read()
                found[member.name] = _unpickle(path, member.name, content, how_to_get)
                if len(found) == len(names):
                    break
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(
            f"{path} lacks {missing}; it is not the CIFAR-10 python archive. {how_to_get}"
        )
    return found


def _dict_with(path, member, content, keys, how_to_get):
    if not isinstance(content, dict) or any(key not in content for key in keys):
        raise _not_cifar(path, member, f"holds no dict with keys {list(keys)}", how_to_get)
    return content


def _label_names(path, meta, how_to_get):
    names = _dict_with(path, CIFAR10_META, meta, ["label_names"], how_to_get)["label_names"]
    if (not isinstance(names, list) or len(names) != CIFAR10_NUM_CLASSES
            or not all(isinstance(name, str) and name for name in names)):
        raise _not_cifar(
            path, CIFAR10_META,
            f"holds label_names that are not {CIFAR10_NUM_CLASSES} non-empty strings",
            how_to_get,
        )
    return names


def _batch_arrays(path, member, batch, how_to_get):
    """`(images uint8 (n, 32, 32, 3), labels int64 (n,))` of one batch."""
    batch = _dict_with(path, member, batch, ["data", "labels"], how_to_get)
    data, labels = batch["data"], batch["labels"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == 3072):
        found = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                 else type(data).__name__)
        raise _not_cifar(
            path, member, f"holds data that is a {found}, not a uint8 array of shape (n, 3072)",
            how_to_get,
        )
    # A list of anything but small integers becomes an array of another
    # kind (object, float, str) here, refused below.
    labels = np.asarray(labels) if isinstance(labels, list) else np.asarray(None)
    if (labels.dtype.kind not in "iu" or labels.shape != (len(data),)
            or np.any(labels < 0) or np.any(labels >= CIFAR10_NUM_CLASSES)):
        raise _not_cifar(
            path, member,
            f"holds labels that are not a list of {len(data)} integers in "
            f"[0, {CIFAR10_NUM_CLASSES})",
            how_to_get,
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int64)


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
    try:
        members = _read_members(path, CIFAR10_BATCHES[split] + [CIFAR10_META], how_to_get)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise ValueError(
            f"{path} could not be read ({error}). The download was probably "
            f"truncated or corrupted: {how_to_get}"
        ) from error
    names = _label_names(path, members[CIFAR10_META], how_to_get)
    images, labels = zip(*(_batch_arrays(path, name, members.pop(name), how_to_get)
                           for name in CIFAR10_BATCHES[split]))
    return np.concatenate(images), np.concatenate(labels), names
