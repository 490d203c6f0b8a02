"""Preparing every dataset offline, in tensorflow-datasets format.

MNIST and CIFAR-10 are built from the standard archives a user downloaded
by hand; Cluttered MNIST, Occluded CIFAR-10 and Occluded MNIST are
generated from them.
Nothing is downloaded. A dataset already prepared is left untouched, and a
failed preparation leaves nothing behind: tensorflow-datasets writes into a
temporary folder that is renamed only on success, and folders this function
created are removed on failure.
"""

import os
import shutil
import tempfile

import tensorflow_datasets as tfds

from infodropout_tf.data import pipelines
from infodropout_tf.data.offline_builders import OfflineCifar10
from infodropout_tf.data.offline_builders import OfflineMnist

# What each generated dataset is made from.
REQUIREMENTS = {"cluttered_mnist": ("mnist",), "occluded_cifar10": ("cifar10", "mnist"),
                "occluded_mnist": ("mnist",)}
PREPARABLE = ("mnist", "cifar10", "cluttered_mnist", "occluded_cifar10", "occluded_mnist")


def _check_data_dir(data_dir):
    """Refuses a `data_dir` that is, or lies under, something not a folder.

    Checked before anything is created, so that a file given by mistake
    gives one line here instead of an `os.makedirs` error deep inside
    tensorflow-datasets.
    """
    if not isinstance(data_dir, (str, os.PathLike)):
        raise ValueError(
            "Invalid value received for argument `data_dir`. Expected a path "
            f"(str or os.PathLike). Received: data_dir={data_dir!r}"
        )
    given = os.path.abspath(os.fspath(data_dir))
    path = given
    # lexists: a dangling symbolic link is in the way as much as a file is.
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        where = "exists and" if path == given else f"lies under {path}, which"
        raise NotADirectoryError(
            f"data_dir {given} {where} is not a folder. Pass the tensorflow-datasets "
            "folder to prepare the data in (it is created if missing), e.g. "
            "--data_dir ~/tensorflow_datasets."
        )


def _new_directories(path):
    """The missing ancestors of `path` (itself included), outermost first."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return list(reversed(missing))


def prepare(name, data_dir, source_dir=None, *, verify_checksum=True, **config):
    """Prepares dataset `name` in `data_dir` without any download.

    Args:
        name: `"mnist"`, `"cifar10"`, `"cluttered_mnist"`,
            `"occluded_cifar10"` or `"occluded_mnist"`.
        data_dir: tensorflow-datasets directory to write into (created if
            missing for `mnist` and `cifar10`; it must exist for the
            generated datasets, which read their sources there).
        source_dir: Folder with the downloaded archives: the four MNIST IDX
            `.gz` files, or `cifar-10-python.tar.gz`. Only for `mnist` and
            `cifar10`.
        verify_checksum: Whether `cifar10` requires the official archive's
            MD5 (`archives.CIFAR10_MD5`), checked before anything is read
            from it. `False` only for an archive you built yourself, such as
            test data; its pickles are still read by a restricted unpickler
            that cannot run code.
        **config: Generation options of `cluttered_mnist`,
            `occluded_cifar10` and `occluded_mnist` (see `pipelines.builder`),
            each with an upper bound that keeps memory and disk use
            bounded, checked before anything is written (see
            `ClutteredMnistConfig`, `OccludedMnistConfig`,
            `OccludedCifar10Config`).

    Returns:
        The prepared dataset's folder.

    Raises:
        ValueError: unknown name, an option out of its range, or an archive
            that is corrupt, crafted (links, unexpected pickles) or inflates
            past its size cap (see `archives`).
        FileNotFoundError: missing archive, or a source dataset that is not
            prepared in `data_dir` yet.
        NotADirectoryError: `data_dir` is, or lies under, a file.
    """
    if name not in PREPARABLE:
        raise ValueError(
            "Invalid value received for argument `name`. Expected one of "
            f"{list(PREPARABLE)} (binarized_mnist is made from mnist when loaded). "
            f"Received: name={name!r}"
        )
    _check_data_dir(data_dir)
    # Only the CIFAR-10 archive has a checksum; accepting the opt-out for
    # another dataset would suggest a check that is not made.
    if not isinstance(verify_checksum, bool) or (not verify_checksum and name != "cifar10"):
        raise ValueError(
            "Invalid value received for argument `verify_checksum`. Expected "
            "True or False, and False only with name='cifar10'. Received: "
            f"verify_checksum={verify_checksum!r} with name={name!r}"
        )
    if name in ("mnist", "cifar10"):
        if source_dir is None or not os.path.isdir(source_dir):
            raise FileNotFoundError(
                f"Preparing {name} needs `source_dir` (--from), a folder with the "
                f"archives downloaded by hand. Received: {source_dir!r}"
            )
        if config:
            raise ValueError(f"{name} takes no generation options; received {sorted(config)}.")
        created = _new_directories(data_dir)
        if name == "mnist":
            dataset_builder = OfflineMnist(source_dir=source_dir, data_dir=data_dir)
        else:
            dataset_builder = OfflineCifar10(
                source_dir=source_dir, data_dir=data_dir, verify_checksum=verify_checksum
            )
    else:
        pipelines.resolve_data_dir(data_dir)
        # The options' ranges first: they are argument errors, whatever is
        # prepared already.
        dataset_builder = pipelines.builder(name, data_dir, **config)
        for requirement in REQUIREMENTS[name]:
            pipelines.require_prepared(
                pipelines.builder(requirement, data_dir), requirement, data_dir
            )
        created = []
    created += [d for d in _new_directories(dataset_builder.data_path) if d not in created]

    try:
        with tempfile.TemporaryDirectory() as downloads:
            dataset_builder.download_and_prepare(
                download_dir=downloads,
                download_config=tfds.download.DownloadConfig(try_download_gcs=False),
            )
    except BaseException:
        for directory in reversed(created):
            shutil.rmtree(directory, ignore_errors=True)
        raise
    return os.fspath(dataset_builder.data_path)
