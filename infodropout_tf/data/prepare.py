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

import tensorflow_datasets as tfds

from infodropout_tf.data import pipelines
from infodropout_tf.data.download import check_data_dir
from infodropout_tf.data.download import new_directories
from infodropout_tf.data.download import prepare_cleanly
from infodropout_tf.data.offline_builders import OfflineCifar10
from infodropout_tf.data.offline_builders import OfflineMnist

REQUIREMENTS = pipelines.REQUIREMENTS
PREPARABLE = ("mnist", "cifar10", "cluttered_mnist", "occluded_cifar10", "occluded_mnist")


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
    check_data_dir(data_dir)
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
        created = new_directories(data_dir)
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
    return prepare_cleanly(
        dataset_builder, created,
        download_config=tfds.download.DownloadConfig(try_download_gcs=False),
    )
