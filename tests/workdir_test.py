"""`training/workdir.py` on its own (runs that resume after faults:
faults_test.py)."""

import json
import os
import re

import pytest
import tensorflow as tf

from infodropout_tf.training.workdir import Workdir
from infodropout_tf.training.workdir import WorkdirError


def _write_scalars(directory, steps):
    writer = tf.summary.create_file_writer(str(directory))
    with writer.as_default():
        for step in steps:
            tf.summary.scalar("value", float(step), step=step)
    writer.close()


def _steps(directory):
    (name,) = os.listdir(directory)
    return [event.step for event in tf.compat.v1.train.summary_iterator(str(directory / name))
            if event.summary.value]


def test_discard_after_keeps_the_summaries_of_completed_epochs(tmp_path):
    # Killed during the fourth epoch (index 3) after its analysis was
    # written, with two epochs committed: epoch summaries are stepped by
    # epoch index, the information plane by epochs completed (0: before
    # training), so the plane keeps one step more.
    tensorboard = tmp_path / "tensorboard"
    for split in ("train", "validation", "analysis"):
        _write_scalars(tensorboard / split, [0, 1, 2, 3])
    _write_scalars(tensorboard / "information_plane", [0, 1, 2, 3, 4])

    Workdir(str(tmp_path)).discard_after(2)

    for split in ("train", "validation", "analysis"):
        assert _steps(tensorboard / split) == [0, 1]
    assert _steps(tensorboard / "information_plane") == [0, 1, 2]


# Files read back from a workdir: checked before anything acts on them ---------------

def _files(directory):
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _finished_epochs(workdir, epochs=3):
    """A workdir holding `epochs` finished epochs' checkpoints, CSV rows and summaries."""
    (workdir / "checkpoints").mkdir(parents=True)
    for epoch in range(1, epochs + 1):
        (workdir / "checkpoints" / f"epoch_{epoch:04d}.keras").write_bytes(b"PK model")
    (workdir / "training_log.csv").write_text(
        "epoch,loss\r\n" + "".join(f"{e},{2.0 / (e + 1)}\r\n" for e in range(epochs)))
    _write_scalars(workdir / "tensorboard" / "train", range(epochs))


def test_a_stored_config_that_is_not_an_object_is_one_line(tmp_path):
    workdir = Workdir(str(tmp_path))
    (tmp_path / "config.json").write_text('[{"num_epochs": 2}]')
    with pytest.raises(WorkdirError, match=(
            f"^{tmp_path}/config.json holds a JSON array, where a JSON object is expected. "
            "This workdir's run cannot be identified: use another --workdir, or delete this "
            "one to start over.$")):
        workdir.stored_config()
    (tmp_path / "config.json").write_bytes(b'{"seed": "\xff"}')
    with pytest.raises(WorkdirError, match=r"config.json is not UTF-8 text \(line 1, byte 10"):
        workdir.stored_config()


def test_only_epoch_checkpoint_files_count_as_checkpoints(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    for name in ("epoch_0002.keras", "epoch_12345.keras", "epoch_0003.keras\n",
                 "epoch_\u0660\u0660\u0660\u0664.keras", "epoch_002.keras", "interrupted.keras",
                 "xepoch_0005.keras", "epoch_0006.keras.incomplete"):
        (checkpoints / name).write_bytes(b"PK")
    (checkpoints / "epoch_0007.keras").mkdir()
    assert Workdir(str(tmp_path)).epoch_checkpoints() == {
        2: str(checkpoints / "epoch_0002.keras"), 12345: str(checkpoints / "epoch_12345.keras")}


@pytest.mark.parametrize("epoch", [-1, True, 1.0, "1"])
def test_discard_after_refuses_an_epoch_out_of_range(tmp_path, epoch):
    _finished_epochs(tmp_path)
    before = _files(tmp_path)
    with pytest.raises(ValueError, match="Invalid value received for argument `epoch`"):
        Workdir(str(tmp_path)).discard_after(epoch)
    assert _files(tmp_path) == before


@pytest.mark.parametrize("line, expected", [
    ("3," + "9" * 200_000, r"is not a CSV log \(line 5: field larger than field limit"),
    ("3,\xe9".encode("latin-1"), r"is not UTF-8 text \(line 5, byte \d+ is b'\\xe9'\)"),
    ("three,0.5", r", line 5: epoch is \"three\", where an integer >= 0 is expected"),
    ("3", r", line 5, has 1 values for 2 columns"),
])
def test_a_damaged_training_log_stops_discard_after_and_loses_no_row(tmp_path, line, expected):
    # Three finished epochs, and the fourth killed after its row: the
    # row is unfinished, but what is wrong with it is not a kill's doing.
    _finished_epochs(tmp_path)
    log = tmp_path / "training_log.csv"
    log.write_bytes(log.read_bytes() + (line if isinstance(line, bytes) else line.encode())
                    + b"\r\n")
    before = _files(tmp_path)
    with pytest.raises(WorkdirError, match=f"^{log}{' ' if expected[0] != ',' else ''}"
                                           f"{expected}.* Repair it"):
        Workdir(str(tmp_path)).discard_after(3)
    assert _files(tmp_path) == before


def test_discard_after_drops_a_row_cut_short_by_a_kill(tmp_path):
    _finished_epochs(tmp_path)
    log = tmp_path / "training_log.csv"
    log.write_bytes(log.read_bytes() + b"3,0.4")  # no line end: cut short
    Workdir(str(tmp_path)).discard_after(3)
    assert log.read_text() == "epoch,loss\n0,2.0\n1,1.0\n2,0.6666666666666666\n"
    assert _steps(tmp_path / "tensorboard" / "train") == [0, 1, 2]


def _event_file(directory):
    (name,) = os.listdir(directory)
    return directory / name


def test_a_damaged_summary_stops_discard_after_and_an_unreadable_tail_is_dropped(tmp_path):
    _finished_epochs(tmp_path)
    events = _event_file(tmp_path / "tensorboard" / "train")
    data = events.read_bytes()
    records = list(tf.data.TFRecordDataset(str(events)).as_numpy_iterator())
    assert len(records) == 4  # the file's version, then epochs 0, 1 and 2
    # One byte of epoch 1's summary changed: its checksum fails, and
    # dropping it would lose epoch 2's, which is readable.
    second = 2 * 16 + len(records[0]) + len(records[1]) + 12
    damaged = bytearray(data)
    damaged[second] ^= 0xFF
    events.write_bytes(bytes(damaged))
    before = _files(tmp_path)
    with pytest.raises(WorkdirError, match=f"^{events} is damaged at byte \\d+ \\(record 2, "
                                           "with more after it: .*\\). Restore it from a copy"):
        Workdir(str(tmp_path)).discard_after(3)
    assert _files(tmp_path) == before

    # A damaged last record or one cut short (a kill), or zeros at the end
    # (a crash): nothing can read them, and they go.
    without_last = data[:-(16 + len(records[3]))]
    for content, kept in ((data[:-6] + bytes([data[-6] ^ 0xFF]) + data[-5:], without_last),
                          (data[:-3], without_last), (data + bytes(30), data)):
        events.write_bytes(content)
        Workdir(str(tmp_path)).discard_after(3)
        assert events.read_bytes() == kept


@pytest.mark.parametrize("rows, expected", [
    ({"epoch": 1}, "holds a JSON object, where a JSON array is expected"),
    ([{"epoch": -1}], ", item 0, field `epoch` is -1, where an integer >= 0 is expected"),
    (["epoch"], ", item 0, is a JSON string, where a JSON object is expected"),
])
def test_a_damaged_information_plane_stops_discard_after(tmp_path, rows, expected):
    _finished_epochs(tmp_path)
    plane = tmp_path / "information_plane.json"
    row = {"epoch": 0, "split": "train", "layer": "dense", "estimator": "binning",
           "mutual_information_x": 1.0, "mutual_information_y": 0.5,
           "relative_to_prior_constant": False}
    plane.write_text(json.dumps([row] + rows if isinstance(rows, list) else rows))
    if isinstance(rows, list):
        expected = expected.replace("item 0", "item 1")
    before = _files(tmp_path)
    with pytest.raises(WorkdirError, match=f"^{plane}{' ' if expected[0] != ',' else ''}"
                                           f"{re.escape(expected)}. Repair it"):
        Workdir(str(tmp_path)).discard_after(3)
    assert _files(tmp_path) == before
