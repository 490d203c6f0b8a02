"""Reading back the files of a workdir: checked before anything acts on them.

A run reads what an earlier run wrote (its config, metrics, resume state,
logs), and so do the reports. Any of these may have been edited by hand
or damaged on disk, and a value out of range there (an epoch of -1, a
file name with a path in it) must not steer what a run deletes or where
it resumes. So every such file is read here: JSON and CSV are parsed in
full, then checked for type, shape and range, and anything else is one
`WorkdirError` line naming the file, what is wrong and what to do
(`fix`, given by the caller, who knows what the file is for).

`UnreadableFileError`, a `WorkdirError`, marks a file that is not even
the text it should be (not UTF-8, not JSON, not CSV): a damaged file,
from which a caller may recover by other means (a backup falls back to
its checkpoints, cut-short metrics are evaluated again). A file that
parses but holds a wrong value is never recovered from silently.

TensorBoard event files are read here too (`event_files`, `read_events`),
by the trainer, which truncates them on resume, and by the reports, which
read their scalars: one reading of the format and of what a damaged one is.

Field checks are `(check, expected)` pairs, like the config's `RANGES`:
`check(value)` says whether a value is acceptable and `expected` says what
is, e.g. `integer(0)` is `(..., "an integer >= 0")`.
"""

import csv
import io
import json
import os
import re

import tensorflow as tf


class WorkdirError(ValueError):
    """A workdir cannot be used: it is taken or not writable, or one of its
    files is unreadable or holds a value out of range. The message names
    the folder or file and what to do; nothing has been written or deleted."""


class UnreadableFileError(WorkdirError):
    """A workdir file is not the JSON or CSV text it should be (damaged)."""


def integer(minimum=0):
    """The check of a JSON integer >= `minimum` (never a boolean)."""
    return (lambda value: isinstance(value, int) and not isinstance(value, bool)
            and value >= minimum, f"an integer >= {minimum}")


NUMBER = (lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
          "a number")
TEXT = (lambda value: isinstance(value, str), "a string")
BOOLEAN = (lambda value: isinstance(value, bool), "true or false")
OBJECT = (lambda value: isinstance(value, dict), "a JSON object")

_JSON_KINDS = ((bool, "true/false"), (dict, "object"), (list, "array"), (str, "string"),
               ((int, float), "number"), (type(None), "null"))

# What Keras's CSVLogger writes for a metric an epoch did not log.
_NOT_AVAILABLE = "NA"

_EPOCH = re.compile(r"[0-9]+")


def _then(fix):
    """The fix as the error's last sentence (none for an empty `fix`)."""
    return f" {fix}" if fix else ""


def _bad_byte(data, error):
    line = data.count(b"\n", 0, error.start) + 1
    return f"line {line}, byte {error.start} is {data[error.start:error.start + 1]!r}"


def _kind(value):
    return next(name for kind, name in _JSON_KINDS if isinstance(value, kind))


def _shown(value, limit=40):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def read_json(path, fix, expected=dict):
    """The JSON value in `path`, which must be an object (or `expected`).

    Args:
        path: The file.
        fix: What the user should do, the last sentence of any error.
        expected: `dict` for a JSON object, `list` for an array.

    Raises:
        OSError: the file cannot be opened (`FileNotFoundError` if missing).
        UnreadableFileError: it is not UTF-8 JSON.
        WorkdirError: it holds another kind of value than `expected`.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        problem = f"is not UTF-8 text ({_bad_byte(data, error)})"
    except json.JSONDecodeError as error:
        problem = ("is empty" if not data.strip() else
                   f"is not valid JSON ({error.msg} at line {error.lineno}, "
                   f"column {error.colno})")
    except (ValueError, RecursionError) as error:  # a 5000-digit number, [[[[...
        problem = f"is not JSON a run writes ({error})"
    else:
        problem = None
    if problem is not None:
        raise UnreadableFileError(f"{path} {problem}.{_then(fix)}")
    if not isinstance(value, expected):
        raise WorkdirError(f"{path} holds a JSON {_kind(value)}, where a JSON "
                           f"{_kind(expected())} is expected.{_then(fix)}")
    return value


def check_fields(path, document, fields, fix, item=None):
    """Raises WorkdirError unless every field of `document` passes its check.

    Args:
        path: The file `document` was read from, named in the error.
        document: A dict read from JSON.
        fields: {name: (check, expected)}; a dotted name, `"dataset.name"`,
            is a field of a nested object.
        fix: What the user should do, the last sentence of the error.
        item: The index of `document` in the JSON array of `path`, if it
            is one of its items.
    """
    where = path if item is None else f"{path}, item {item},"
    for name, (check, expected) in fields.items():
        value, parts = document, name.split(".")
        for depth, key in enumerate(parts):
            if not isinstance(value, dict):
                parent = ".".join(parts[:depth])
                raise WorkdirError(f"{where} field `{parent}` is {_shown(value)}, where a JSON "
                                   f"object is expected.{_then(fix)}")
            if key not in value:
                raise WorkdirError(f"{where} has no field `{name}`.{_then(fix)}")
            value = value[key]
        if not check(value):
            raise WorkdirError(f"{where} field `{name}` is {_shown(value)}, where {expected} is "
                               f"expected.{_then(fix)}")


def check_items(path, items, fields, fix):
    """`check_fields` for each item of a JSON array, which must be an object."""
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise WorkdirError(f"{path}, item {index}, is a JSON {_kind(item)}, where a JSON "
                               f"object is expected.{_then(fix)}")
        check_fields(path, item, fields, fix, item=index)


def read_csv(path, fix, numeric=False):
    """The header and rows of a CSV log with an `epoch` column.

    Such logs are appended to as a run goes (Keras's `CSVLogger`), so a
    kill can cut their last line short: a last line without its line end
    is left out, as are repeats of the header. Every other row must have
    one value per column, and its epoch must be an integer >= 0.

    Args:
        path: The file.
        fix: What the user should do, the last sentence of any error.
        numeric: Whether every value must be a number (Keras's "NA", a
            metric the epoch did not log, reads as NaN).

    Returns:
        `(columns, rows, left_out)`: the header's column names (None for a
        file without one), a dict per row, {column: text}, or {column:
        float} if `numeric`, and the number of lines left out.

    Raises:
        OSError: the file cannot be opened.
        UnreadableFileError: it is not UTF-8 text, or not CSV (a field
            over `csv.field_size_limit()` characters).
        WorkdirError: a row with too few or too many values, without an
            epoch, or with a value that is not a number where `numeric`.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFileError(f"{path} is not UTF-8 text ({_bad_byte(data, error)})."
                                  f"{_then(fix)}") from None
    left_out = 0
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
        left_out = 1
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = list(reader)
    except csv.Error as error:
        raise UnreadableFileError(f"{path} is not a CSV log (line {reader.line_num}: "
                                  f"{error}).{_then(fix)}") from error
    if not lines:
        return None, [], left_out
    columns, rows = lines[0], []
    if "epoch" not in columns:
        raise WorkdirError(f"{path} has no `epoch` column (its header is "
                           f"{_shown(columns)}).{_then(fix)}")
    for number, values in enumerate(lines[1:], start=2):
        if values == columns:
            left_out += 1
            continue
        if len(values) != len(columns):
            raise WorkdirError(f"{path}, line {number}, has {len(values)} values for "
                               f"{len(columns)} columns.{_then(fix)}")
        row = dict(zip(columns, values))
        if not _EPOCH.fullmatch(row["epoch"]):
            raise WorkdirError(f"{path}, line {number}: epoch is {_shown(row['epoch'])}, where "
                               f"an integer >= 0 is expected.{_then(fix)}")
        if numeric:
            row = {column: _number(path, number, column, value, fix)
                   for column, value in row.items()}
        rows.append(row)
    return columns, rows, left_out


def _number(path, line, column, value, fix):
    if value == _NOT_AVAILABLE:
        return float("nan")
    try:
        return float(value)
    except ValueError:
        raise WorkdirError(f"{path}, line {line}: `{column}` is {_shown(value)}, where a "
                           f"number is expected.{_then(fix)}") from None


def event_files(folder, recursive=False):
    """The TensorBoard event files in `folder`, sorted by path.

    Within a folder that is the order they were written in: their names
    start with the time the writer was opened.

    Args:
        folder: A log folder; a missing one holds none.
        recursive: Whether to include the event files of its subfolders.
    """
    found = []
    for root, folders, files in os.walk(folder):
        found += [os.path.join(root, name) for name in files
                  if name.startswith("events.out.tfevents.")]
        if not recursive:
            folders.clear()
    return sorted(found)


# A TFRecord: the data's length (8 bytes) and its checksum (4), the data,
# and the data's checksum (4).
_RECORD_HEADER, _RECORD_FOOTER = 12, 4


def read_events(path, fix):
    """The events of the event file `path`, and whether an unreadable tail ended it.

    A kill cuts the last record short, and a crash can leave it damaged
    or zeros after it: such a tail is dropped, as nothing can read it.

    Returns:
        `(events, cut_short)`: `events` is a list of `(record, event)`, the
        record's bytes as written (to write them back unchanged) and the
        `tf.compat.v1.Event` they hold.

    Raises:
        UnreadableFileError: a damaged record is followed by more data
            (records that dropping it would lose); the message names the
            file, the byte and `fix`.
    """
    records = []
    cut_short = False
    try:
        for record in tf.data.TFRecordDataset(path):
            records.append(record.numpy())
    except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as error:
        offset = sum(_RECORD_HEADER + len(r) + _RECORD_FOOTER for r in records)
        with open(path, "rb") as f:
            f.seek(offset)
            tail = f.read()
        end = (_RECORD_HEADER + int.from_bytes(tail[:8], "little") + _RECORD_FOOTER
               if len(tail) >= _RECORD_HEADER else len(tail) + 1)
        if end < len(tail) and tail.strip(b"\0"):
            raise UnreadableFileError(
                f"{path} is damaged at byte {offset} (record {len(records)}, with more "
                f"after it: {error.message}).{_then(fix)}") from error
        cut_short = True
    return [(record, tf.compat.v1.Event.FromString(record)) for record in records], cut_short
