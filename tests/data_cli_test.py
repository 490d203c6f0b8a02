"""The command line `python -m infodropout_tf.data` (`infodropout_tf/data/__main__.py`)."""

import re
import subprocess
import sys

from infodropout_tf.data import __main__ as cli


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
