"""`workdir_files.py`: what a run reads back is checked, and a bad file is one line."""

import math

import pytest
import tensorflow as tf

from infodropout_tf import workdir_files
from infodropout_tf.workdir_files import UnreadableFileError
from infodropout_tf.workdir_files import WorkdirError

FIX = "Do the fix."


def _json(tmp_path, content):
    path = tmp_path / "file.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("content, expected", [
    ("[1, 2]", "holds a JSON array, where a JSON object is expected"),
    ("3", "holds a JSON number, where a JSON object is expected"),
    ("null", "holds a JSON null, where a JSON object is expected"),
])
def test_a_json_value_of_another_kind_is_one_line_with_the_fix(tmp_path, content, expected):
    path = _json(tmp_path, content)
    with pytest.raises(WorkdirError) as caught:
        workdir_files.read_json(path, FIX)
    assert not isinstance(caught.value, UnreadableFileError)  # it parsed: a wrong value
    assert str(caught.value) == f"{path} {expected}. {FIX}"
    assert workdir_files.read_json(_json(tmp_path, "[1]"), FIX, expected=list) == [1]


@pytest.mark.parametrize("content, expected", [
    ("", "is empty"),
    ('{"epoch": 2', "is not valid JSON (Expecting ',' delimiter at line 1, column 12)"),
    (b'{"a": "\xff"}', r"is not UTF-8 text (line 1, byte 7 is b'\xff')"),
    ("[" * 100_000 + "]" * 100_000, "is not JSON a run writes"),
    ("1" * 5000, "is not JSON a run writes"),
])
def test_text_that_is_not_json_is_unreadable(tmp_path, content, expected):
    path = _json(tmp_path, content)
    with pytest.raises(UnreadableFileError) as caught:
        workdir_files.read_json(path, FIX)
    message = str(caught.value)
    assert message.startswith(f"{path} {expected}") and message.endswith(f". {FIX}")
    assert "\n" not in message


@pytest.mark.parametrize("document, expected", [
    ({"epoch": -1}, "field `epoch` is -1, where an integer >= 0 is expected"),
    ({"epoch": True}, "field `epoch` is true, where an integer >= 0 is expected"),
    ({"epoch": 2.0}, "field `epoch` is 2.0, where an integer >= 0 is expected"),
    ({"epoch": "2"}, 'field `epoch` is "2", where an integer >= 0 is expected'),
    ({}, "has no field `epoch`"),
    ({"epoch": 2, "run": {"name": 3}}, "field `run.name` is 3, where a string is expected"),
    ({"epoch": 2, "run": [1]}, "field `run` is [1], where a JSON object is expected"),
    # A long value is cut short in the message.
    ({"epoch": 2, "run": {"name": [0] * 1000}},
     "field `run.name` is [" + "0, " * 13 + "..., where a string is expected"),
])
def test_fields_out_of_range_are_named(document, expected):
    fields = {"epoch": workdir_files.integer(0), "run.name": workdir_files.TEXT}
    with pytest.raises(WorkdirError) as caught:
        workdir_files.check_fields("f.json", document, fields, FIX)
    assert str(caught.value) == f"f.json {expected}. {FIX}"
    workdir_files.check_fields("f.json", {"epoch": 0, "run": {"name": "a"}}, fields, FIX)


def test_items_of_an_array_are_named_by_index():
    fields = {"epoch": workdir_files.integer(0)}
    workdir_files.check_items("p.json", [{"epoch": 0}, {"epoch": 3}], fields, FIX)
    with pytest.raises(WorkdirError, match=r"^p.json, item 1, field `epoch` is -2, where"):
        workdir_files.check_items("p.json", [{"epoch": 0}, {"epoch": -2}], fields, FIX)
    with pytest.raises(WorkdirError, match=r"^p.json, item 0, is a JSON string, where a JSON "
                                           r"object is expected\. Do the fix\.$"):
        workdir_files.check_items("p.json", ["epoch"], fields, FIX)


def _csv(tmp_path, content):
    path = tmp_path / "log.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_a_csv_log_reads_as_keras_writes_it(tmp_path):
    # Keras's CSVLogger ends lines with \r\n; a kill can cut the last one
    # short, and older Keras repeated the header on resume.
    path = _csv(tmp_path, "epoch,loss\r\n0,2.5\r\nepoch,loss\r\n1,NA\r\n2,1.")
    columns, rows, left_out = workdir_files.read_csv(path, FIX)
    assert columns == ["epoch", "loss"] and left_out == 2
    assert rows == [{"epoch": "0", "loss": "2.5"}, {"epoch": "1", "loss": "NA"}]
    _, rows, _ = workdir_files.read_csv(path, FIX, numeric=True)
    assert rows[0] == {"epoch": 0.0, "loss": 2.5} and math.isnan(rows[1]["loss"])
    assert workdir_files.read_csv(_csv(tmp_path, ""), FIX) == (None, [], 0)
    assert workdir_files.read_csv(_csv(tmp_path, "epo"), FIX) == (None, [], 1)


@pytest.mark.parametrize("content, expected", [
    ("epoch,loss\n0,2.5\n1," + "9" * 200_000 + "\n",
     r"is not a CSV log \(line 3: field larger than field limit \(131072\)\)"),
    (b"epoch,loss\n0,2.5\n1,\xe9\n", r"is not UTF-8 text \(line 3, byte 19 is b'\\xe9'\)"),
])
def test_a_csv_log_that_is_not_text_or_csv_is_unreadable(tmp_path, content, expected):
    path = _csv(tmp_path, content)
    with pytest.raises(UnreadableFileError, match=f"^{path} {expected}. Do the fix.$"):
        workdir_files.read_csv(path, FIX)


@pytest.mark.parametrize("content, expected", [
    ("epoch,loss\n0,2.5\n1\n2,1.0\n", r", line 3, has 1 values for 2 columns"),
    ("epoch,loss\n0,2.5\n-1,1.0\n", r", line 3: epoch is \"-1\", where an integer >= 0"),
    ("epoch,loss\n0,2.5\n1.5,1.0\n", r", line 3: epoch is \"1.5\", where an integer >= 0"),
    ("loss\n2.5\n", r" has no `epoch` column \(its header is \[\"loss\"\]\)"),
])
def test_rows_out_of_shape_or_range_are_named_by_line(tmp_path, content, expected):
    path = _csv(tmp_path, content)
    with pytest.raises(WorkdirError, match=f"^{path}{expected}"):
        workdir_files.read_csv(path, FIX)


def test_a_numeric_log_names_a_value_that_is_not_a_number(tmp_path):
    path = _csv(tmp_path, "epoch,loss\n0,2.5\n1,abc\n")
    assert workdir_files.read_csv(path, FIX)[1][1]["loss"] == "abc"
    with pytest.raises(WorkdirError, match=f'^{path}, line 3: `loss` is "abc", where a number '
                                           "is expected. Do the fix.$"):
        workdir_files.read_csv(path, FIX, numeric=True)


def _write_events(directory, steps):
    writer = tf.summary.create_file_writer(str(directory))
    with writer.as_default():
        for step in steps:
            tf.summary.scalar("loss", float(step), step=step)
    writer.close()


def test_event_files_in_the_order_written_and_subfolders_on_request(tmp_path):
    _write_events(tmp_path, [0])
    _write_events(tmp_path / "train", [0])
    (tmp_path / "events.txt").write_text("not an event file")
    top = workdir_files.event_files(str(tmp_path))
    assert [p.rsplit("/", 1)[0] for p in top] == [str(tmp_path)]
    everything = workdir_files.event_files(str(tmp_path), recursive=True)
    assert len(everything) == 2 and top[0] in everything
    assert workdir_files.event_files(str(tmp_path / "missing")) == []


def test_events_are_read_back_and_a_cut_tail_is_dropped_but_not_a_damaged_middle(tmp_path):
    _write_events(tmp_path, [0, 1, 2])
    (path,) = workdir_files.event_files(str(tmp_path))
    events, cut_short = workdir_files.read_events(path, FIX)
    assert not cut_short
    # The file's version record, then one summary per step.
    assert [event.step for _, event in events[1:]] == [0, 1, 2]
    data = open(path, "rb").read()
    assert all(record in data for record, _ in events)
    with open(path, "wb") as f:
        f.write(data[:-3])  # a kill in the middle of the last record
    events, cut_short = workdir_files.read_events(path, FIX)
    assert cut_short and [event.step for _, event in events[1:]] == [0, 1]
    damaged = bytearray(data)
    # A byte of step 0's summary: its checksum fails, and steps 1 and 2 follow.
    damaged[16 + len(events[0][0]) + 12] ^= 0xFF
    with open(path, "wb") as f:
        f.write(bytes(damaged))
    with pytest.raises(UnreadableFileError,
                       match=rf"^{path} is damaged at byte \d+ \(record 1, with more after "
                             rf"it: .*\)\. {FIX}$"):
        workdir_files.read_events(path, FIX)
