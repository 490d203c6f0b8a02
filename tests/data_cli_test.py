"""The command line `python -m infodropout_tf.data` (`infodropout_tf/data/__main__.py`)."""

import errno
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

from infodropout_tf.data import __main__ as cli
from infodropout_tf.data import archives


TF_IMPORT_LOG = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\)|"
                           r"[IWE]\d{4} [\d:.]+ +\d+ \w+\.cc:\d+\]")


def test_crafted_cifar_pickle_is_refused_by_the_command_line(tmp_path, fake_cifar):
    source, marker = fake_cifar.crafted(tmp_path)
    data_dir = tmp_path / "tfds"
    result = subprocess.run(
        [sys.executable, "-m", "infodropout_tf.data", "prepare", "cifar10", "--from", str(source),
         "--data_dir", str(data_dir), "--skip_checksum"],
        capture_output=True, text=True, check=False)
    assert not marker.exists()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # TensorFlow's C++ runtime logs a few lines when imported, whatever
    # TF_CPP_MIN_LOG_LEVEL says; everything else must be the one error line.
    lines = [line for line in result.stderr.splitlines() if not TF_IMPORT_LOG.match(line)]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(fake_cifar.CRAFTED_ERROR, lines[0])
    assert not data_dir.exists()


def test_command_line(tmp_path, capsys):
    assert cli.main(["prepare", "mnist", "--data_dir", str(tmp_path)]) == 2
    assert "needs `source_dir` (--from)" in capsys.readouterr().err
    assert cli.main(["prepare", "cluttered_mnist", "--data_dir", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _one_error_line(stderr):
    lines = [line for line in stderr.splitlines() if not TF_IMPORT_LOG.match(line)]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_link_in_cifar_archive_is_one_line_from_the_command_line(tmp_path, fake_cifar):
    # The probe: a batch that is a symbolic link raised KeyError.
    members = fake_cifar.members(train_per_batch=2, test=2)
    source = tmp_path / "archives"
    source.mkdir()
    with tarfile.open(source / "cifar-10-python.tar.gz", "w:gz") as archive:
        for name, content in members.items():
            if name.endswith("data_batch_1"):
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                archive.addfile(info)
                continue
            payload = fake_cifar.python2_pickle(content)
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    data_dir = tmp_path / "tfds"
    result = subprocess.run(
        [sys.executable, "-m", "infodropout_tf.data", "prepare", "cifar10", "--from", str(source),
         "--data_dir", str(data_dir), "--skip_checksum"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert ("cifar-10-batches-py/data_batch_1 is a symbolic link to '/etc/passwd', not a regular "
            "file (links in an archive are refused, never followed)") in line
    assert line.endswith(f"Download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz into "
                         f"{source}.")
    assert not data_dir.exists()


def test_data_dir_that_is_a_file_is_one_line(tmp_path, raw_mnist_dir, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    assert cli.main(["prepare", "mnist", "--from", str(raw_mnist_dir),
                     "--data_dir", str(a_file)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == (f"error: data_dir {a_file} exists and is not a folder. Pass the "
                    "tensorflow-datasets folder to prepare the data in (it is created if "
                    "missing), e.g. --data_dir ~/tensorflow_datasets.")
    assert a_file.read_text() == "keep me"


def test_option_beyond_its_bound_is_one_line_and_the_help_states_the_bounds(work_dir, capsys):
    assert cli.main(["prepare", "cluttered_mnist", "--data_dir", work_dir,
                     "--image_size", "100000000"]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        "error: Invalid value received for argument `image_size`. Expected an integer in "
        "[28, 512]. Received: image_size=100000000")
    assert sorted(os.listdir(work_dir)) == ["mnist"]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["prepare", "--help"])
    assert exit_info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for bound in ["canvas side, 28 to 512 (96)", "distractors, 0 to 1000 (21)",
                  "training examples, 1 to 60000", "test examples, 1 to 10000",
                  "occluded_mnist, 0 to 4294967295 (0)"]:
        assert bound in help_text


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["prepare", "cluttered_mnist", "--data_dir", "x", "--image_size", "abc"])
    assert exit_info.value.code == 2
    assert _one_error_line(capsys.readouterr().err) == (
        "error: argument --image_size: invalid int value: 'abc' "
        "(see python -m infodropout_tf.data prepare --help)")


def test_gzip_bomb_is_one_line_naming_the_file_and_the_cap(tmp_path, raw_mnist_dir, monkeypatch,
                                                           capsys):
    source = tmp_path / "archives"
    shutil.copytree(raw_mnist_dir, source)
    # The first file read; 3 MiB of zeros past a cap lowered to 1 MiB.
    with gzip.open(source / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes(3 << 20))
    monkeypatch.setattr(archives, "MNIST_MAX_BYTES", 1 << 20)
    data_dir = tmp_path / "tfds"
    assert cli.main(["prepare", "mnist", "--from", str(source), "--data_dir", str(data_dir)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {source / 'train-images-idx3-ubyte.gz'} inflates to more than "
                           "1048576 bytes (1 MiB, the cap for an MNIST file)")
    assert not data_dir.exists()


def test_system_error_is_one_line_with_status_1(tmp_path, monkeypatch, capsys):
    # A full disk while tensorflow-datasets writes, as prepare() lets it through.
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "tfds" / "x"))

    monkeypatch.setattr(cli, "prepare", full_disk)
    assert cli.main(["prepare", "cluttered_mnist", "--data_dir", str(tmp_path)]) == 1
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: preparing cluttered_mnist failed: [Errno {errno.ENOSPC}] No space left on "
        f"device: '{tmp_path / 'tfds' / 'x'}'")
