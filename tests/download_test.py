"""A dataset missing from the data directory is prepared as `tfds.load` does
(`infodropout_tf.data.download`), or refused with `download=False`.

Nothing is downloaded: the network is replaced by tensorflow-datasets'
`DownloadManager` raising the error requests raises without network, or
handing over the raw MNIST files of ../shared/data/mnist as if downloaded.
"""

import gzip
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import requests
import tensorflow_datasets as tfds

from infodropout_tf import data
from infodropout_tf.data import download
from infodropout_tf.training import experiment

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTING = str(ROOT / "configs" / "testing.py")
MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz"


def _no_network(written=None):
    """`download_and_extract` failing as requests does without network,
    after writing `written` (a path) as a half-finished download would."""

    def fail(self, url_or_urls, *args, **kwargs):
        if written is not None:
            os.makedirs(os.path.dirname(written), exist_ok=True)
            pathlib.Path(written).write_bytes(b"partial")
        raise requests.exceptions.ConnectionError(
            "Max retries exceeded (NameResolutionError)",
            request=requests.Request("GET", MNIST_URL).prepare())

    return fail


def _files(tmp_path):
    """The tree under `tmp_path`, as relative paths."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))


def _announcements(capsys):
    """The lines of stderr that announce a preparation."""
    return [line for line in capsys.readouterr().err.splitlines()
            if "with tensorflow-datasets" in line]


def test_offline_download_fails_in_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    data_dir = tmp_path / "tfds"  # missing: created for the download, removed with it
    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract",
                        _no_network(written=data_dir / "mnist" / "partial.gz"))
    with pytest.raises(download.DownloadError) as failure:
        data.load("mnist", data_dir=str(data_dir))
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"Downloading mnist (mnist/3.0.1) into {data_dir} failed: "
                              f"cannot reach {MNIST_URL} (ConnectionError). ")
    assert message.endswith(f"prepare it offline with: python -m infodropout_tf.data prepare "
                            f"mnist --from DIR --data_dir {data_dir}, with DIR holding the "
                            "archives downloaded by hand (see `python -m infodropout_tf.data "
                            "prepare --help`).")
    assert _files(tmp_path) == []

    # An existing data_dir keeps what it held, and gains nothing that looks prepared.
    data_dir.mkdir()
    (data_dir / "other").write_text("kept")
    with pytest.raises(download.DownloadError, match=r"^Downloading mnist \(mnist/3.0.1\)"):
        data.load("cluttered_mnist", data_dir=str(data_dir), num_train=4, num_test=2)
    assert _files(tmp_path) == ["tfds", "tfds/other"]
    with pytest.raises(FileNotFoundError, match=r"'mnist'.*is not prepared"):
        data.load("mnist", data_dir=str(data_dir), download=False)


def test_download_false_refuses_with_the_offline_command_and_the_switch(tmp_path, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("download=False downloaded")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", must_not_run)
    with pytest.raises(FileNotFoundError) as refusal:
        data.load("cifar10", data_dir=str(tmp_path), download=False)
    assert str(refusal.value) == (
        f"Dataset 'cifar10' (cifar10/3.0.2) is not prepared in {tmp_path}, and nothing is "
        f"downloaded. Prepare it with: python -m infodropout_tf.data prepare cifar10 --from DIR "
        f"--data_dir {tmp_path}, with DIR holding the archives downloaded by hand (see "
        "`python -m infodropout_tf.data prepare --help`) or let the loader fetch it: "
        "download=True (in a config --config.dataset.download=True).")
    with pytest.raises(FileNotFoundError, match=r"data_dir .*missing.* does not exist"):
        data.num_examples("mnist", data_dir=str(tmp_path / "missing"), download=False)
    with pytest.raises(ValueError, match=r"`download`.*Received: download='no'"):
        data.load("mnist", data_dir=str(tmp_path), download="no")
    assert _files(tmp_path) == []


def test_a_download_is_announced_in_one_line_then_loads(tmp_path, monkeypatch, capsys,
                                                        raw_mnist_dir, shared_data_dir):
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    urls = []

    def from_raw_files(self, url_or_urls, *args, **kwargs):
        urls.extend(url_or_urls.values())
        paths = {}
        for key, url in url_or_urls.items():
            name = url.rsplit("/", 1)[-1]
            path = extracted / name.removesuffix(".gz")
            with gzip.open(raw_mnist_dir / name) as archive:
                path.write_bytes(archive.read())
            paths[key] = str(path)
        return paths

    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", from_raw_files)
    data_dir = tmp_path / "tfds"
    images, labels = next(iter(data.load("mnist", "test", data_dir=str(data_dir),
                                         batch_size=10000, shuffle=False)))
    # One line of ours; tensorflow-datasets' own progress bars follow it, as in `tfds.load`.
    assert _announcements(capsys) == [
        f"Downloading mnist (mnist/3.0.1) into {data_dir} with tensorflow-datasets "
        "(download=False, in a config --config.dataset.download=False, refuses)."]
    assert MNIST_URL in urls
    # What tfds's own download would have written: the reference copy.
    _, reference = next(iter(data.load("mnist", "test", data_dir=shared_data_dir,
                                       batch_size=10000, shuffle=False)))
    np.testing.assert_array_equal(labels.numpy(), reference.numpy())
    assert images.shape == (10000, 28, 28, 1)
    # Prepared now: read without a word, and without the archives (temporary).
    data.load("mnist", data_dir=str(data_dir))
    assert _announcements(capsys) == []
    assert sorted(os.listdir(data_dir)) == ["mnist"]


def test_a_generated_dataset_is_generated_from_its_prepared_source(work_dir, capsys):
    options = {"num_train": 6, "num_test": 3, "image_size": 40, "num_distractors": 2}
    assert data.num_examples("cluttered_mnist", "train", data_dir=work_dir, **options) == 6
    lines = _announcements(capsys)
    assert len(lines) == 1
    assert lines[0].startswith("Generating cluttered_mnist (cluttered_mnist/")
    assert lines[0].endswith(f"into {work_dir} from mnist with tensorflow-datasets (download="
                             "False, in a config --config.dataset.download=False, refuses).")
    data.load("cluttered_mnist", data_dir=work_dir, download=False, **options)


def test_the_config_field_reaches_the_loaders(testing_config, tmp_path, monkeypatch):
    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", _no_network())
    config = testing_config()
    config.dataset.data_dir = str(tmp_path / "tfds")
    with pytest.raises(download.DownloadError, match=r"^Downloading mnist"):
        experiment.num_train_examples(config)
    config.dataset.download = False
    with pytest.raises(FileNotFoundError, match=r"does not exist"):
        experiment.num_train_examples(config)
    with pytest.raises(FileNotFoundError, match=r"does not exist"):
        experiment.load_split(config, "test", 10, training=False)
    assert _files(tmp_path) == []


def _train(tmp_path, *overrides, prelude=""):
    script = "\n".join([
        "import sys", prelude, "from infodropout_tf.training import apps",
        f"sys.argv = ['infodropout-train', '--config={TESTING}', "
        f"'--workdir={tmp_path / 'run'}', '--config.dataset.data_dir={tmp_path / 'tfds'}'] "
        f"+ {list(overrides)!r}",
        "apps.run_train()"])
    return subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def test_the_trainer_says_one_line_offline_and_when_refused(tmp_path):
    offline_tmp, refused_tmp = tmp_path / "offline", tmp_path / "refused"
    offline_tmp.mkdir()
    (refused_tmp / "tfds").mkdir(parents=True)
    offline = _train(offline_tmp, prelude="\n".join([
        "import requests, tensorflow_datasets as tfds",
        "def fail(self, urls, *a, **k):",
        "    raise requests.exceptions.ConnectionError('no network', request=requests.Request("
        f"'GET', {MNIST_URL!r}).prepare())",
        "tfds.download.DownloadManager.download_and_extract = fail"]))
    # A bool override from the command line, as ml_collections parses it.
    refused = _train(refused_tmp, "--config.dataset.download=False")
    for process, start in (
            (offline, f"error: Downloading mnist (mnist/3.0.1) into "
                      f"{offline_tmp / 'tfds'} failed: cannot reach {MNIST_URL}"),
            (refused, f"error: Dataset 'mnist' (mnist/3.0.1) is not prepared in "
                      f"{refused_tmp / 'tfds'}, and nothing is downloaded.")):
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 1, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]
        assert stderr.strip().splitlines()[-1].startswith(start), stderr[-3000:]
    assert stderr.strip().endswith("download=True (in a config --config.dataset.download=True).")
    assert not (offline_tmp / "tfds").exists()
    assert os.listdir(refused_tmp / "tfds") == []
