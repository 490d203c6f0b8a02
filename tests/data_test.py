"""Data pipelines, offline preparation and generated datasets.

Real MNIST comes from ../shared (TFDS_DATA_DIR and ../shared/data/mnist);
CIFAR-10 is faked in the format of its python archive.
"""

import gzip
import hashlib
import io
import os
import pathlib
import pickle
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from infodropout_tf import data
from infodropout_tf.data import __main__ as cli
from infodropout_tf.data import archives
from infodropout_tf.data import cluttered_mnist
from infodropout_tf.data import occluded_cifar
from infodropout_tf.data import zca

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared"
RAW_MNIST = SHARED / "data" / "mnist"
# ../shared/data/README.md: the canonical training label histogram.
TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
SMALL_CLUTTER = {"num_train": 60, "num_test": 20}


@pytest.fixture(scope="module")
def shared_data_dir():
    path = os.environ.get("TFDS_DATA_DIR")
    assert path and os.path.isdir(os.path.join(path, "mnist")), "Set TFDS_DATA_DIR (README)."
    return path


@pytest.fixture
def work_dir(tmp_path, shared_data_dir):
    """A writable data_dir whose `mnist` is the shared prepared copy."""
    data_dir = tmp_path / "tensorflow_datasets"
    data_dir.mkdir()
    (data_dir / "mnist").symlink_to(os.path.abspath(os.path.join(shared_data_dir, "mnist")))
    return str(data_dir)


class _Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the CIFAR-10 batches.

    Protocol 2, every string (keys, names, raw pixels) a byte string
    (BINSTRING, read back through `encoding="latin1"`); `_python2_pickle`
    also names numpy 1's `numpy.core` module, as the real archive does.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_byte_string(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[str] = _save_byte_string
    dispatch[bytes] = _save_byte_string


def _python2_pickle(content):
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(content)
    # Protocol 2 names globals as text lines, so the module can be swapped.
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def _cifar_members(train_per_batch=40, test=50, seed=0):
    """The members of a CIFAR-10 python archive, with random pixels."""
    rng = np.random.default_rng(seed)
    members = {"cifar-10-batches-py/batches.meta": {
        "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                        "horse", "ship", "truck"]}}
    for name, count in [(f"data_batch_{i}", train_per_batch) for i in range(1, 6)] + [
            ("test_batch", test)]:
        members[f"cifar-10-batches-py/{name}"] = {
            "data": rng.integers(0, 256, size=(count, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, size=count).tolist()}
    return members


def _write_cifar_archive(directory, members, dumps=_python2_pickle):
    path = os.path.join(directory, "cifar-10-python.tar.gz")
    with tarfile.open(path, "w:gz") as archive:
        for member, content in members.items():
            payload = dumps(content)
            info = tarfile.TarInfo(member)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def _fake_cifar_archive(directory, train_per_batch=40, test=50, seed=0):
    """Writes a cifar-10-python.tar.gz with the real layout and random pixels.

    Its checksum is not the official one: prepare it with
    `verify_checksum=False`.
    """
    members = _cifar_members(train_per_batch, test, seed)
    arrays = {member.rsplit("/", 1)[1]: content for member, content in members.items()
              if not member.endswith("batches.meta")}
    return _write_cifar_archive(directory, members), arrays


class _RunsCode:
    """Unpickles into a shell command that writes `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"echo code ran > {shlex.quote(self.marker)}",)


def _as_numpy(name, split, data_dir, **config):
    return tfds.as_numpy(
        data.pipelines.builder(name, data_dir, **config).as_dataset(split=split, batch_size=-1)
    )


# MNIST ----------------------------------------------------------------------

def test_mnist_counts_histogram_and_pixel_range(shared_data_dir):
    assert data.num_examples("mnist", "train", shared_data_dir) == 60_000
    assert data.num_examples("mnist", "test", shared_data_dir) == 10_000
    histogram = np.zeros(10, np.int64)
    low, high, count = 1.0, 0.0, 0
    for images, labels in data.load("mnist", "train", shared_data_dir, batch_size=10_000,
                                    shuffle=False, cache=False):
        histogram += np.bincount(labels.numpy(), minlength=10)
        low, high = min(low, float(images.numpy().min())), max(high, float(images.numpy().max()))
        count += len(labels)
        assert images.shape[1:] == (28, 28, 1) and images.dtype == "float32"
    assert count == 60_000
    assert histogram.tolist() == TRAIN_HISTOGRAM
    assert (low, high) == (0.0, 1.0)


def test_training_batches_are_full_shuffled_and_reproducible(shared_data_dir):
    def first_labels(seed):
        batch = next(iter(data.load("mnist", "train[:1000]", shared_data_dir, batch_size=300,
                                    seed=seed)))
        return batch[1].numpy()

    batches = list(data.load("mnist", "train[:1000]", shared_data_dir, batch_size=300))
    assert [len(b[1]) for b in batches] == [300, 300, 300]  # drop_remainder
    tests = list(data.load("mnist", "test[:1000]", shared_data_dir, batch_size=300))
    assert [len(b[1]) for b in tests] == [300, 300, 300, 100]
    np.testing.assert_array_equal(first_labels(1), first_labels(1))
    assert not np.array_equal(first_labels(1), first_labels(2))
    unshuffled = _as_numpy("mnist", "train[:300]", shared_data_dir)["label"]
    assert not np.array_equal(first_labels(1), unshuffled)


def test_binarized_mnist_is_bernoulli_of_the_pixels(shared_data_dir):
    probabilities = next(iter(data.load("mnist", "test[:2000]", shared_data_dir,
                                        batch_size=2000)))[0].numpy()
    static = [next(iter(data.load("binarized_mnist", "test[:2000]", shared_data_dir,
                                  batch_size=2000)))[0].numpy() for _ in range(2)]
    assert set(np.unique(static[0])) == {0.0, 1.0}
    np.testing.assert_array_equal(static[0], static[1])  # fixed draw
    # Each pixel is 1 with its intensity as probability: the mean matches
    # within 4 standard errors over 1.57 million pixels.
    variance = np.sum(probabilities * (1 - probabilities)) / probabilities.size ** 2
    assert abs(static[0].mean() - probabilities.mean()) < 4 * np.sqrt(variance)

    dynamic = data.load("binarized_mnist", "train[:512]", shared_data_dir, batch_size=512,
                        shuffle=False)
    first_epoch, second_epoch = (next(iter(dynamic))[0].numpy() for _ in range(2))
    assert set(np.unique(first_epoch)) == {0.0, 1.0}
    assert not np.array_equal(first_epoch, second_epoch)  # a fresh draw every epoch


@pytest.mark.slow
def test_prepare_from_idx_archives_matches_the_prepared_copy(tmp_path, shared_data_dir):
    path = data.prepare("mnist", str(tmp_path / "tfds"), source_dir=str(RAW_MNIST))
    assert path.endswith(os.path.join("mnist", "3.0.1"))
    for split in ("train", "test"):
        ours = _as_numpy("mnist", split, str(tmp_path / "tfds"))
        reference = _as_numpy("mnist", split, shared_data_dir)
        np.testing.assert_array_equal(ours["image"], reference["image"])
        np.testing.assert_array_equal(ours["label"], reference["label"])


# CIFAR-10 and ZCA ----------------------------------------------------------

def test_zca_whitening_gives_identity_covariance():
    rng = np.random.default_rng(0)
    # Correlated fake 4x4x3 images: 48 dimensions, 20,000 examples.
    mixing = rng.normal(size=(48, 48))
    images = (rng.normal(size=(20_000, 48)) @ mixing).reshape(-1, 4, 4, 3)
    matrix, mean = zca.fit(images)
    whitened = (zca.standardize(images) - mean) @ matrix
    covariance = np.cov(whitened, rowvar=False)
    # Standardisation removes the constant direction, which stays at zero
    # variance; every other direction has unit variance.
    ones = np.ones((48, 1)) / np.sqrt(48)
    np.testing.assert_allclose(covariance, np.eye(48) - ones @ ones.T, atol=2e-3)
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-6)  # zero-phase: symmetric


def test_cifar_pipeline_standardises_whitens_and_reuses_the_matrix(tmp_path, monkeypatch):
    _, batches = _fake_cifar_archive(str(tmp_path))
    data_dir = str(tmp_path / "tfds")
    data.prepare("cifar10", data_dir, source_dir=str(tmp_path), verify_checksum=False)
    assert data.num_examples("cifar10", "train", data_dir) == 200

    images, labels = next(iter(data.load("cifar10", "test", data_dir, batch_size=50)))
    stored = np.load(os.path.join(data_dir, "cifar10", "3.0.2", zca.FILENAME))
    raw = _as_numpy("cifar10", "test", data_dir)
    expected = (zca.standardize(raw["image"]) - stored["mean"]) @ stored["matrix"]
    # 200 fake images span few of the 3072 directions, so the whitening
    # amplifies the rest by up to 1e5: compare relative to that scale.
    np.testing.assert_allclose(images.numpy().reshape(50, -1), expected,
                               atol=1e-5 * np.abs(expected).max())
    np.testing.assert_array_equal(labels, raw["label"])
    # The test split in tfds order is the fake test batch in some order.
    assert sorted(raw["label"].tolist()) == sorted(batches["test_batch"]["labels"])

    def refit(*args, **kwargs):
        raise AssertionError("the stored ZCA matrix must be reused, not refitted")

    monkeypatch.setattr(zca, "fit", refit)
    again = next(iter(data.load("cifar10", "test", data_dir, batch_size=50)))[0]
    np.testing.assert_array_equal(again, images)


def test_occluded_cifar_has_both_labels_and_the_digit_drawn_in(tmp_path, work_dir):
    _fake_cifar_archive(str(tmp_path))
    data.prepare("cifar10", work_dir, source_dir=str(tmp_path), verify_checksum=False)
    data.prepare("occluded_cifar10", work_dir, generation_seed=3)
    occluded = _as_numpy("occluded_cifar10", "test", work_dir, generation_seed=3)
    cifar = _as_numpy("cifar10", "test", work_dir)
    mnist = _as_numpy("mnist", "test", work_dir)
    assert len(occluded["image"]) == 50
    # cifar_index i is the archive's i-th test image, whose id is test_0000i.
    cifar_row = {int(i.decode().rsplit("_", 1)[1]): row for row, i in enumerate(cifar["id"])}
    rows = [cifar_row[i] for i in occluded["cifar_index"]]
    assert sorted(occluded["cifar_index"].tolist()) == list(range(50))
    np.testing.assert_array_equal(occluded["label"], cifar["label"][rows])
    np.testing.assert_array_equal(occluded["nuisance_label"], mnist["label"][occluded["mnist_index"]])
    for index in range(5):
        digit = mnist["image"][occluded["mnist_index"][index], ..., 0]
        original = cifar["image"][rows[index]]
        # Pixels are blended toward white with the digit's opacity: never
        # darker than the original, and white under fully opaque ink.
        assert np.all(occluded["image"][index] >= original)
        assert np.count_nonzero(occluded["image"][index] == 255) >= np.count_nonzero(digit == 255)
        assert np.count_nonzero(occluded["image"][index] != original) > 0
    pairs = next(iter(data.load("occluded_cifar10", "test", work_dir, batch_size=10,
                                label_key="nuisance_label", generation_seed=3,
                                zca_dir=str(tmp_path))))
    assert pairs[0].shape == (10, 32, 32, 3)
    assert set(pairs[1].numpy()) <= set(range(10))


LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]


def test_cifar_reader_reads_python2_and_python3_pickles(tmp_path):
    members = _cifar_members(train_per_batch=4, test=3)
    batch = members["cifar-10-batches-py/test_batch"]
    # The real archive's form: numpy 1's module, byte strings, protocol 2.
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in _python2_pickle(batch)
    writers = {"python2": _python2_pickle,
               "protocol3": lambda content: pickle.dumps(content, protocol=3),
               "protocol4": lambda content: pickle.dumps(content, protocol=4)}
    for name, dumps in writers.items():
        (tmp_path / name).mkdir()
        _write_cifar_archive(str(tmp_path / name), members, dumps)
        images, labels, names = archives.read_cifar10(str(tmp_path / name), "test",
                                                      verify_checksum=False)
        assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
        # A row is three 32x32 planes, red, green then blue, row-major.
        row, column = 7, 19
        planes = [channel * 1024 + row * 32 + column for channel in range(3)]
        np.testing.assert_array_equal(images[:, row, column, :], batch["data"][:, planes])
        assert labels.tolist() == batch["labels"]
        assert names == LABEL_NAMES


def test_cifar_checksum_is_verified_before_reading(tmp_path, work_dir, monkeypatch):
    # 500 fake images make an archive of several 1 MiB chunks.
    path, _ = _fake_cifar_archive(str(tmp_path), train_per_batch=100)
    assert os.path.getsize(path) > 1 << 20
    found = hashlib.md5(pathlib.Path(path).read_bytes()).hexdigest()
    with monkeypatch.context() as patch:
        def read(*args, **kwargs):
            raise AssertionError("the archive was opened before its checksum was checked")

        patch.setattr(archives.tarfile, "open", read)
        with pytest.raises(ValueError) as error:
            data.prepare("cifar10", work_dir, source_dir=str(tmp_path))
    message = str(error.value)
    assert "\n" not in message
    assert f"{path} has MD5 {found}, expected c58f30108f718f92721af3b95e74349a" in message
    assert "Download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
    assert "pass verify_checksum=False (--skip_checksum)" in message
    assert sorted(os.listdir(work_dir)) == ["mnist"]
    # The streamed digest is the whole file's: with it expected, the archive reads.
    monkeypatch.setattr(archives, "CIFAR10_MD5", found)
    images, labels, _ = archives.read_cifar10(str(tmp_path), "train")
    assert images.shape == (500, 32, 32, 3) and labels.shape == (500,)


def _crafted_cifar_archive(tmp_path):
    """A CIFAR-10 archive whose data_batch_1 writes tmp_path/marker when unpickled."""
    marker = tmp_path / "marker"
    # The payload is live: unpickled freely, it writes its marker.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_RunsCode(str(control))))
    assert control.read_text() == "code ran\n"
    members = _cifar_members()
    members["cifar-10-batches-py/data_batch_1"] = {"data": _RunsCode(str(marker)), "labels": [0]}
    source = tmp_path / "archives"
    source.mkdir()
    _write_cifar_archive(str(source), members, pickle.dumps)
    return source, marker


CRAFTED_ERROR = (r"cifar-10-python.tar.gz: cifar-10-batches-py/data_batch_1 names the global "
                 r"\w+\.system, which a CIFAR-10 batch never holds; the archive is not the "
                 r"official CIFAR-10 archive")


def test_crafted_cifar_pickle_is_refused_without_running_code(tmp_path, work_dir):
    source, marker = _crafted_cifar_archive(tmp_path)
    with pytest.raises(ValueError) as error:
        data.prepare("cifar10", work_dir, source_dir=str(source), verify_checksum=False)
    assert not marker.exists()
    assert re.search(CRAFTED_ERROR, str(error.value))
    assert "\n" not in str(error.value)
    assert sorted(os.listdir(work_dir)) == ["mnist"]


TF_IMPORT_LOG = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\)|"
                           r"[IWE]\d{4} [\d:.]+ +\d+ \w+\.cc:\d+\]")


def test_crafted_cifar_pickle_is_refused_by_the_command_line(tmp_path):
    source, marker = _crafted_cifar_archive(tmp_path)
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
    assert re.search(CRAFTED_ERROR, lines[0])
    assert not data_dir.exists()


def test_occlude_blends_with_digit_opacity():
    image = np.full((32, 32, 3), 100, np.uint8)
    digit = np.zeros((28, 28), np.uint8)
    digit[10, 10], digit[11, 11] = 255, 51
    occluded = occluded_cifar.occlude(image, digit, np.random.default_rng(0))
    values = sorted(set(occluded.reshape(-1, 3)[:, 0].tolist()))
    assert values == [100, 131, 255]  # 100 + 0.2 * (255 - 100) = 131


# Cluttered MNIST --------------------------------------------------------------

def test_cluttered_mnist_shapes_distractors_boxes_and_determinism(work_dir, tmp_path):
    data.prepare("cluttered_mnist", work_dir, **SMALL_CLUTTER)
    examples = _as_numpy("cluttered_mnist", "train", work_dir, **SMALL_CLUTTER)
    mnist = _as_numpy("mnist", "train", work_dir)
    assert examples["image"].shape == (60, 96, 96, 1)
    np.testing.assert_array_equal(examples["label"], mnist["label"][examples["mnist_index"]])
    for image, box, index in zip(examples["image"], examples["digit_box"], examples["mnist_index"]):
        digit = mnist["image"][index, ..., 0]
        rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
        top, left, bottom, right = box
        assert (bottom - top, right - left) == (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
        # Every digit pixel is inside the box: the canvas there is at least
        # as bright as the digit (overlaps keep the brighter pixel).
        inside = image[top:bottom, left:right, 0]
        assert np.all(inside >= digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
        outside = image[..., 0].copy()
        outside[top:bottom, left:right] = 0
        assert outside.any()  # distractors lie around it

    # Same seed: byte-identical output, prepared again elsewhere.
    other_dir = tmp_path / "again"
    other_dir.mkdir()
    (other_dir / "mnist").symlink_to(os.readlink(os.path.join(work_dir, "mnist")))
    data.prepare("cluttered_mnist", str(other_dir), **SMALL_CLUTTER)
    again = _as_numpy("cluttered_mnist", "train", str(other_dir), **SMALL_CLUTTER)
    for key in examples:
        np.testing.assert_array_equal(again[key], examples[key])


def test_default_variant_is_the_papers():
    config = cluttered_mnist.ClutteredMnistConfig()
    assert (config.image_size, config.num_distractors) == (96, 21)
    assert config.split_sizes == {"train": 50_000, "test": 10_000}


def test_clutter_places_exactly_the_requested_distractors():
    digit = np.zeros((28, 28), np.uint8)
    digit[5:20, 10:14] = 255
    sources = np.zeros((21, 28, 28), np.uint8)
    for i in range(21):
        sources[i, :, :] = 10 + i  # each distractor crop has its own value
    # A large canvas, so that no crop hides another for this seed.
    canvas, box = cluttered_mnist.clutter(digit, sources, np.random.default_rng(0), 400)
    assert canvas.shape == (400, 400)
    values = set(np.unique(canvas).tolist()) - {0, 255}
    assert values == set(range(10, 31))
    assert all(np.count_nonzero(canvas == v) == 64 for v in values)  # 8x8 crops
    assert (box[2] - box[0], box[3] - box[1]) == (15, 4)
    assert np.all(canvas[box[0]:box[2], box[1]:box[3]] == 255)


def test_different_seeds_give_different_clutter(work_dir):
    for seed in (0, 1):
        data.prepare("cluttered_mnist", work_dir, generation_seed=seed, **SMALL_CLUTTER)
    first, second = (_as_numpy("cluttered_mnist", "test", work_dir, generation_seed=seed,
                               **SMALL_CLUTTER) for seed in (0, 1))
    np.testing.assert_array_equal(first["label"], second["label"])
    assert not np.array_equal(first["image"], second["image"])


# Bad input ------------------------------------------------------------------

def test_missing_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data_dir .*missing.* does not exist"):
        data.load("mnist", data_dir=str(tmp_path / "missing"))


def test_dataset_not_prepared_fails_at_once_with_the_command(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r"'cifar10'.*not prepared.*prepare cifar10 --from DIR"):
        data.load("cifar10", data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"'mnist'.*not prepared"):
        data.prepare("cluttered_mnist", str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_unknown_names_and_options(shared_data_dir):
    with pytest.raises(ValueError, match=r"`name`.*Received: name='svhn'"):
        data.load("svhn", data_dir=shared_data_dir)
    with pytest.raises(ValueError, match=r"`name`.*Received: name='svhn'"):
        data.prepare("svhn", shared_data_dir)
    with pytest.raises(ValueError, match=r"takes no generation options"):
        data.load("mnist", data_dir=shared_data_dir, image_size=64)
    # Only the CIFAR-10 archive has a checksum to skip.
    with pytest.raises(ValueError, match=r"`verify_checksum`.*Received: "
                                         r"verify_checksum=False with name='mnist'"):
        data.prepare("mnist", shared_data_dir, verify_checksum=False)
    with pytest.raises(ValueError, match=r"`verify_checksum`.*Received: "
                                         r"verify_checksum='no' with name='cifar10'"):
        data.prepare("cifar10", shared_data_dir, verify_checksum="no")
    with pytest.raises(ValueError, match=r"`label_key`.*Received: label_key='nuisance_label'"):
        data.load("mnist", data_dir=shared_data_dir, label_key="nuisance_label")
    with pytest.raises(ValueError, match=r"`binarization`.*Received: binarization='otsu'"):
        data.load("binarized_mnist", data_dir=shared_data_dir, binarization="otsu")
    with pytest.raises(ValueError, match=r"`num_distractors`.*Received: num_distractors=-1"):
        data.load("cluttered_mnist", data_dir=shared_data_dir, num_distractors=-1)


def test_truncated_mnist_archive_leaves_nothing_behind(tmp_path):
    source = tmp_path / "archives"
    shutil.copytree(RAW_MNIST, source)
    payload = (source / "t10k-images-idx3-ubyte.gz").read_bytes()
    (source / "t10k-images-idx3-ubyte.gz").write_bytes(payload[: len(payload) // 2])
    target = tmp_path / "tfds"
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz is not a complete gzip"):
        data.prepare("mnist", str(target), source_dir=str(source))
    assert not target.exists()


def test_wrong_idx_file_is_named(tmp_path):
    source = tmp_path / "archives"
    shutil.copytree(RAW_MNIST, source)
    with gzip.open(source / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01" + b"\x00" * 100)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz is not the MNIST train labels"):
        data.prepare("mnist", str(tmp_path / "tfds"), source_dir=str(source))


def test_corrupt_cifar_archive_and_existing_data_untouched(tmp_path, work_dir):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(ValueError, match=r"cifar-10-python.tar.gz could not be read"):
        data.prepare("cifar10", work_dir, source_dir=str(tmp_path), verify_checksum=False)
    assert sorted(os.listdir(work_dir)) == ["mnist"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"Missing archive .*cifar-10-python.tar.gz"):
        data.prepare("cifar10", work_dir, source_dir=str(empty))
    assert sorted(os.listdir(work_dir)) == ["mnist"]


def test_command_line(tmp_path, capsys):
    assert cli.main(["prepare", "mnist", "--data_dir", str(tmp_path)]) == 2
    assert "needs `source_dir` (--from)" in capsys.readouterr().err
    assert cli.main(["prepare", "cluttered_mnist", "--data_dir", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
