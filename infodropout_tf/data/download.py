"""Preparing a dataset with tensorflow-datasets' own builder, leaving nothing
half-written behind.

The loaders (`load`, `load_epochs`, `num_examples`) call `fetch` for a
dataset missing from the data directory, as `tfds.load` would: MNIST and
CIFAR-10 are downloaded by their official builders, the generated datasets
are generated from their prepared sources. `prepare.prepare` runs its
offline builders through `prepare_cleanly` too, so both routes clean up the
same way.
"""

import os
import shutil
import sys
import tempfile

import tensorflow_datasets as tfds

# Errors of a download: the network (requests' errors are OSErrors), an
# unreachable or changed file (tensorflow-datasets' own errors), a full disk.
_DOWNLOAD_ERRORS = (OSError, tfds.download.DownloadError,
                    tfds.core.download.download_manager.NonMatchingChecksumError)


class DownloadError(OSError):
    """A dataset could not be downloaded; the message says how to prepare it offline."""


def check_data_dir(data_dir):
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


def new_directories(path):
    """The missing ancestors of `path` (itself included), outermost first."""
    missing = []
    path = os.path.abspath(os.fspath(path))
    while not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return list(reversed(missing))


def prepare_cleanly(dataset_builder, created=(), download_config=None):
    """Runs `dataset_builder.download_and_prepare`, undoing it on failure.

    The archives go to a temporary folder that is removed afterwards, and
    on any failure (an interrupt included) the folders that did not exist
    before are removed, so no half-written dataset is left that a later
    run could take for a prepared one (tensorflow-datasets itself renames
    its `incomplete` folder only on success).

    Args:
        dataset_builder: A tensorflow-datasets builder.
        created: Folders the caller created for this preparation, removed
            on failure too.
        download_config: A `tfds.download.DownloadConfig`, or None for
            tensorflow-datasets' default.

    Returns:
        The prepared dataset's folder.
    """
    created = list(created)
    created += [d for d in new_directories(dataset_builder.data_path) if d not in created]
    try:
        with tempfile.TemporaryDirectory(prefix="infodropout_downloads_") as downloads:
            dataset_builder.download_and_prepare(download_dir=downloads,
                                                 download_config=download_config)
    except BaseException:
        for directory in reversed(created):
            shutil.rmtree(directory, ignore_errors=True)
        raise
    return os.fspath(dataset_builder.data_path)


def _failure(error):
    """What failed, in a few words: the URL requests names, else the first line."""
    request = getattr(error, "request", None)
    url = getattr(request, "url", None)
    if url:
        return f"cannot reach {url} ({type(error).__name__})"
    message = " ".join(str(error).split()) or type(error).__name__
    return message if len(message) <= 300 else message[:297] + "..."


def fetch(dataset_builder, name, data_dir, offline, made_from=()):
    """Prepares `dataset_builder` in `data_dir` as `tfds.load` would, and says so.

    Args:
        dataset_builder: The builder of a dataset not prepared yet.
        name: The dataset's name in the package (`data.DATASETS`).
        data_dir: The tensorflow-datasets directory (created if missing).
        offline: The command that prepares the dataset without internet,
            named in the error.
        made_from: For a generated dataset, the names of the prepared
            datasets it is generated from; empty for a download.

    Returns:
        The prepared dataset's folder.

    Raises:
        DownloadError: the download or the preparation failed (e.g. no
            network); nothing of it is left in `data_dir`.
    """
    full_name = dataset_builder.info.full_name
    if made_from:
        action, source = "Generating", f" from {' and '.join(made_from)}"
    else:
        action, source = "Downloading", ""
    print(f"{action} {name} ({full_name}) into {data_dir}{source} with tensorflow-datasets "
          "(download=False, in a config --config.dataset.download=False, refuses).",
          file=sys.stderr, flush=True)
    try:
        return prepare_cleanly(dataset_builder, new_directories(data_dir))
    except _DOWNLOAD_ERRORS as error:
        raise DownloadError(
            f"{action} {name} ({full_name}) into {data_dir} failed: {_failure(error)}. "
            f"Nothing was written. Without internet, prepare it offline with: {offline}."
        ) from error
