"""Files written aside, then renamed: a reader never sees half of one.

Every output of the package that a later run or a user reads (configs,
metrics, backups, checkpoints, figures, SavedModels) is written to a
temporary name next to its destination and renamed into place only once it
is complete. A kill or a full disk at any instant therefore leaves either
the old file or the new one, plus at most a temporary file whose name
contains `.incomplete` (`is_temporary`), which the trainer deletes when it
next runs in that folder. (A directory is replaced in two renames; a kill
between them leaves its old copy under a temporary name, which
`remove_temporaries` puts back.) Files appended to as a run goes, the
training CSV and TensorBoard event files, are instead cut back to their
last complete epoch by the trainer (`training/workdir.py`).
"""

import contextlib
import json
import os
import shutil

MARK = ".incomplete"


class OutputWriteError(OSError):
    """An output could not be written; the previous version is untouched."""

    def __str__(self):
        return self.strerror  # the whole message, without "[Errno N]"


def temporary_path(path):
    """`dir/name.incomplete.ext` for `dir/name.ext`.

    The mark goes before the first dot of the file name, so the temporary
    keeps every suffix its writer insists on (`.keras`, `.weights.h5`).
    """
    directory, name = os.path.split(path)
    stem, dot, suffixes = name.partition(".")
    return os.path.join(directory, f"{stem}{MARK}{dot}{suffixes}")


def is_temporary(name):
    return MARK in name


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _fsync_directory(directory):
    # The rename is durable only once the directory entry is on disk too.
    try:
        descriptor = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _commit(temporary, path):
    if os.path.isdir(temporary):
        # Directories cannot replace each other atomically: move the old one
        # aside first, so that a kill between the two renames still leaves
        # one complete copy (named `*.incomplete*.old`, put back by
        # `remove_temporaries`).
        previous = temporary + ".old"
        if os.path.exists(path):
            os.replace(path, previous)
        os.replace(temporary, path)
        _remove(previous)
    else:
        with open(temporary, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)
    _fsync_directory(os.path.dirname(path))


@contextlib.contextmanager
def _aside(path):
    """Yields the temporary path; renames it to `path` after the block."""
    temporary = temporary_path(path)
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        _remove(temporary)
        yield temporary
        _commit(temporary, path)
    except OSError as error:
        _remove(temporary)
        reason = error.strerror or str(error)
        raise OutputWriteError(
            error.errno, f"could not write {path} ({reason}); its previous version, if any, "
            "is untouched. Free some space or fix the permissions, then rerun the same command"
        ) from error
    except BaseException:
        _remove(temporary)
        raise


def write_with(path, write):
    """Calls `write(temporary_path)`, then renames the result to `path`.

    `write` may create a file or a directory. If it fails (a full disk, an
    exception), `path` keeps its previous content and the temporary is
    removed; a kill leaves the temporary for `remove_temporaries`.

    Raises:
        OutputWriteError: the operating system refused the write; the
            message names `path` and the reason.
    """
    with _aside(path) as temporary:
        write(temporary)


@contextlib.contextmanager
def open_for_writing(path, mode="w", **options):
    """Like `open(path, mode, **options)`, but written aside and renamed at the end."""
    with _aside(path) as temporary:
        with open(temporary, mode, **options) as f:
            yield f


def write_text(path, text):
    with open_for_writing(path) as f:
        f.write(text)


def write_json(path, value):
    with open_for_writing(path) as f:
        json.dump(value, f, indent=1)


def remove_temporaries(directory, skip=()):
    """Deletes what interrupted writes left under `directory`.

    A directory output replaced by `write_with` whose new copy was never
    renamed into place gets its previous copy back. Top-level folders named
    in `skip` are left alone.
    """
    for root, directories, files in os.walk(directory, topdown=True):
        if root == directory:
            directories[:] = [d for d in directories if d not in skip]
        for name in list(directories) + files:
            if not is_temporary(name):
                continue
            path = os.path.join(root, name)
            if name.endswith(".old"):
                stem, _, suffixes = name[: -len(".old")].partition(MARK)
                original = os.path.join(root, stem + suffixes)
                if not os.path.exists(original):
                    os.replace(path, original)
                    continue
            _remove(path)
        directories[:] = [d for d in directories if not is_temporary(d)]
