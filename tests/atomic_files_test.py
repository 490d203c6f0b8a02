"""atomic_files: a failed write says so once, and leaves no HDF5 file open."""

import errno
import os
import pathlib
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from infodropout_tf import atomic_files

# h5py's error text for a full disk: HDF5's error stack, with the system's
# error number in `errno`.
_HDF5_MESSAGE = ("Can't synchronously write data (file write failed: time = Wed Dec  2 18:40:07 "
                 "2026\n, filename = '{}', file descriptor = 3, errno = 28, error message = "
                 "'No space left on device', buf = 0x55e367481308, total write size = 73304)")


def _open_hdf5_files():
    return [os.fsdecode(file.name) for file in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE)]


def test_a_failed_hdf5_write_is_closed_at_once_and_named_in_one_line(tmp_path, capfd):
    path = tmp_path / "backup.weights.h5"
    path.write_bytes(b"previous")

    def write(temporary):
        # As Keras's save_weights when the disk fills: h5py raises with its
        # file still open, referenced by the writer's frame.
        file = h5py.File(temporary, "w")
        file.create_dataset("kernel", data=np.ones((64, 64), "float32"))
        raise OSError(errno.ENOSPC, _HDF5_MESSAGE.format(temporary))

    with pytest.raises(atomic_files.OutputWriteError) as raised:
        atomic_files.write_with(str(path), write)
    assert str(raised.value) == (
        f"could not write {path} (No space left on device); its previous version, if any, is "
        "untouched. Free some space or fix the permissions, then rerun the same command")
    # Closed while the error is still held, not when it is freed.
    assert not [name for name in _open_hdf5_files() if str(tmp_path) in name]
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.weights.h5"]
    assert capfd.readouterr().err == ""


def test_the_hooks_are_put_back_after_a_failed_and_a_successful_write(tmp_path):
    hooks = sys.excepthook, sys.unraisablehook

    def refused(temporary):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    with pytest.raises(atomic_files.OutputWriteError, match=r"\(Permission denied\)"):
        atomic_files.write_with(str(tmp_path / "a.txt"), refused)
    assert (sys.excepthook, sys.unraisablehook) == hooks
    atomic_files.write_with(str(tmp_path / "b.txt"), lambda t: pathlib.Path(t).write_text("b"))
    assert (sys.excepthook, sys.unraisablehook) == hooks
    assert (tmp_path / "b.txt").read_text() == "b"


# A full disk in a fresh process, for Keras's own save_weights: the file
# size limit (RLIMIT_FSIZE; Python ignores SIGXFSZ) makes every write past
# its offset fail, from HDF5's first metadata on (the limit here) or in the
# kernel's data (a larger one).
_SAVE_WEIGHTS_PAST_A_SIZE_LIMIT = textwrap.dedent("""
    import gc, os, resource, sys
    import keras
    from infodropout_tf import atomic_files
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256), keras.layers.Dense(10)])
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        atomic_files.write_with(os.path.join(sys.argv[1], "backup.weights.h5"),
                                model.save_weights)
    except atomic_files.OutputWriteError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
    # As a command ends: the error and what it held are freed.
    gc.collect()
    print("collected", flush=True)
    """)


@pytest.mark.slow
@pytest.mark.parametrize("limit", [8000, 20000], ids=["from the first bytes", "in the data"])
def test_save_weights_on_a_full_disk_prints_one_line(limit, tmp_path):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run(
        [sys.executable, "-c", _SAVE_WEIGHTS_PAST_A_SIZE_LIMIT, str(tmp_path), str(limit)],
        env=environment, capture_output=True, text=True, timeout=600)
    assert process.stdout == "collected\n", process.stderr[-3000:]
    # TensorFlow's C++ start-up lines aside, the only line is the error.
    lines = [line for line in process.stderr.splitlines()
             if not line.startswith(("WARNING: All log messages", "I0000", "W0000"))]
    assert lines == [f"error: could not write {tmp_path / 'backup.weights.h5'} (File too large); "
                     "its previous version, if any, is untouched. Free some space or fix the "
                     "permissions, then rerun the same command"], process.stderr[-3000:]
    assert os.listdir(tmp_path) == []
    # Not its exit status: from the first bytes, HDF5 1.14 itself crashes
    # closing its files at exit (as it did before the file was closed here).
