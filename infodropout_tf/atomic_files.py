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

A write that fails says so once, in the `OutputWriteError` it raises: an
HDF5 file (Keras's `save_weights`) the failed writer left open is closed
there, without the tracebacks h5py would print closing it later.
"""

import contextlib
import gc
import json
import os
import shutil
import sys

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
        # h5py puts HDF5's whole error stack in `strerror` and the system's
        # error number in `errno`: the number's own text is the reason.
        reason = os.strerror(error.errno) if error.errno else (error.strerror or str(error))
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
    with _aside(path) as temporary, _hdf5_closed_on_failure(temporary):
        write(temporary)


@contextlib.contextmanager
def _hdf5_closed_on_failure(temporary):
    """Closes an HDF5 file a failed `write` leaves open on `temporary`.

    Keras's `save_weights` does not close its h5py file when a write fails
    (a full disk): the file stays referenced by the exception's traceback,
    and h5py closes it only when that is freed, typically at exit, after
    the one error line. The close then fails to flush, and every h5py
    object prints an "Exception ignored" traceback; h5py objects dropped
    while the disk is filling print the same during the write. So the file
    is emptied (freeing the space its closing flush needs) and closed here,
    and errors of HDF5 objects on `temporary`, which is deleted, are not
    printed: they say nothing more than the error being raised.

    If HDF5 objects already failed to close during the write (the disk was
    full from its first bytes), HDF5's state is damaged and closing the
    file can crash the process (HDF5 1.14), so it is left open instead and
    never closed by h5py. HDF5 closes it itself at exit, and may crash
    there, after the error line.
    """
    name = os.path.basename(temporary)
    failed_closes = []

    def about_temporary(exc_type, value):
        return (exc_type is not None and issubclass(exc_type, (RuntimeError, OSError))
                and name in str(value))

    excepthook, unraisablehook = sys.excepthook, sys.unraisablehook

    def quiet_excepthook(exc_type, value, tb):
        # h5py (Cython) prints an error of `__dealloc__` through
        # sys.excepthook before passing it to sys.unraisablehook.
        if not about_temporary(exc_type, value):
            excepthook(exc_type, value, tb)

    def quiet_unraisablehook(unraisable):
        if about_temporary(unraisable.exc_type, unraisable.exc_value):
            failed_closes.append(unraisable.exc_type)
        else:
            unraisablehook(unraisable)

    sys.excepthook, sys.unraisablehook = quiet_excepthook, quiet_unraisablehook
    try:
        yield
    except BaseException as error:
        if _hdf5_file_open(temporary):
            # Printing an error, h5py also keeps it, with the frame it was
            # raised in (which may hold the file), as sys.last_value.
            if about_temporary(getattr(sys, "last_type", None), getattr(sys, "last_value", None)):
                for attribute in ("last_type", "last_value", "last_traceback", "last_exc"):
                    if hasattr(sys, attribute):
                        delattr(sys, attribute)
            if os.path.isfile(temporary):
                try:
                    os.truncate(temporary, 0)
                except OSError:
                    pass
            if failed_closes:
                _never_close(temporary)
            else:
                _release(error)
        raise
    finally:
        if sys.excepthook is quiet_excepthook:
            sys.excepthook = excepthook
        if sys.unraisablehook is quiet_unraisablehook:
            sys.unraisablehook = unraisablehook


def _hdf5_file_open(path):
    h5py = sys.modules.get("h5py")  # never imported here for a writer that does not use it
    if h5py is None:
        return False
    path = os.path.abspath(path)
    return any(os.path.abspath(os.fsdecode(file.name)) == path
               for file in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE))


def _never_close(path):
    """Locks every h5py object of the HDF5 file `path`: h5py then never closes it."""
    h5py = sys.modules["h5py"]
    path = os.path.abspath(path)
    for candidate in gc.get_objects():
        if not isinstance(candidate, h5py._objects.ObjectID) or candidate.locked:
            continue
        try:
            if not candidate.valid:
                continue
            file = h5py.h5i.get_file_id(candidate)
        except (RuntimeError, OSError, ValueError, TypeError):
            continue  # not in a file: a datatype, a property list
        if os.path.abspath(os.fsdecode(file.name)) == path:
            candidate.locked = True


def _release(error):
    """Frees what the writer that raised `error` holds, closing its HDF5 file now."""
    # The writer's finished frames hold its h5py objects: those in the
    # error's traceback, in those of the errors it was raised from or while
    # handling, and their callers, which Keras's traceback filtering leaves
    # out of the traceback but each frame still links to. Freeing them
    # closes the file here, while its errors are not printed, rather than
    # at exit.
    pending, seen = [error], set()
    while pending:
        exception = pending.pop()
        if exception is None or id(exception) in seen:
            continue
        seen.add(id(exception))
        tb = exception.__traceback__
        while tb is not None:
            _clear_finished(tb.tb_frame)
            tb = tb.tb_next
        pending += [exception.__cause__, exception.__context__]
    gc.collect()


def _clear_finished(frame):
    """Frees the locals of `frame` and of its callers, up to one still running."""
    while frame is not None:
        try:
            frame.clear()
        except RuntimeError:  # running, and so are all its callers
            return
        frame = frame.f_back


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
