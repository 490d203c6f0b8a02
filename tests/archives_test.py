"""Reading the MNIST and CIFAR-10 archives downloaded by hand (`infodropout_tf.data.archives`).

CIFAR-10 archives are faked in the real layout (conftest.py's `fake_cifar`).
"""

import gzip
import hashlib
import io
import os
import pathlib
import pickle
import re
import shutil
import tarfile
import tracemalloc

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf.data import archives


LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]


def test_cifar_reader_reads_python2_and_python3_pickles(tmp_path, fake_cifar):
    members = fake_cifar.members(train_per_batch=4, test=3)
    batch = members["cifar-10-batches-py/test_batch"]
    # The real archive's form: numpy 1's module, byte strings, protocol 2.
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in fake_cifar.python2_pickle(batch)
    writers = {"python2": fake_cifar.python2_pickle,
               "protocol3": lambda content: pickle.dumps(content, protocol=3),
               "protocol4": lambda content: pickle.dumps(content, protocol=4)}
    for name, dumps in writers.items():
        (tmp_path / name).mkdir()
        fake_cifar.write(str(tmp_path / name), members, dumps)
        images, labels, names = archives.read_cifar10(str(tmp_path / name), "test",
                                                      verify_checksum=False)
        assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
        # A row is three 32x32 planes, red, green then blue, row-major.
        row, column = 7, 19
        planes = [channel * 1024 + row * 32 + column for channel in range(3)]
        np.testing.assert_array_equal(images[:, row, column, :], batch["data"][:, planes])
        assert labels.tolist() == batch["labels"]
        assert names == LABEL_NAMES


def test_cifar_checksum_is_verified_before_reading(tmp_path, work_dir, monkeypatch, fake_cifar):
    # 500 fake images make an archive of several 1 MiB chunks.
    path, _ = fake_cifar.fake(str(tmp_path), train_per_batch=100)
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


def test_crafted_cifar_pickle_is_refused_without_running_code(tmp_path, work_dir, fake_cifar):
    source, marker = fake_cifar.crafted(tmp_path)
    with pytest.raises(ValueError) as error:
        data.prepare("cifar10", work_dir, source_dir=str(source), verify_checksum=False)
    assert not marker.exists()
    assert re.search(fake_cifar.CRAFTED_ERROR, str(error.value))
    assert "\n" not in str(error.value)
    assert sorted(os.listdir(work_dir)) == ["mnist"]


def test_wrong_idx_file_is_named(tmp_path, raw_mnist_dir):
    source = tmp_path / "archives"
    shutil.copytree(raw_mnist_dir, source)
    with gzip.open(source / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01" + b"\x00" * 100)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz is not the MNIST train labels"):
        data.prepare("mnist", str(tmp_path / "tfds"), source_dir=str(source))


# Crafted archives: links, bombs, malformed contents ------------------------------

def _write_tar(directory, entries):
    """Writes `cifar-10-python.tar.gz` from `(TarInfo, payload bytes or None)`
    entries, in order; returns its path."""
    path = os.path.join(directory, archives.CIFAR10_ARCHIVE)
    with tarfile.open(path, "w:gz") as archive:
        for info, payload in entries:
            if payload is not None:
                info.size = len(payload)
            archive.addfile(info, None if payload is None else io.BytesIO(payload))
    return path


def _regular_entries(fake_cifar, members, skip=()):
    entries = []
    for name, content in members.items():
        if name not in skip:
            entries.append((tarfile.TarInfo(name), fake_cifar.python2_pickle(content)))
    return entries


def _link(name, kind, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE if kind == "symbolic" else tarfile.LNKTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize("kind, target", [
    ("symbolic", "/etc/passwd"),
    ("symbolic", "../../outside"),
    # Inside the archive: followed, it would pass data_batch_2 off as data_batch_1.
    ("symbolic", "data_batch_2"),
    ("hard", "cifar-10-batches-py/data_batch_2"),
    ("hard", "cifar-10-batches-py/missing"),
])
def test_cifar_member_that_is_a_link_is_refused_not_followed(tmp_path, work_dir, fake_cifar,
                                                             kind, target):
    batch = "cifar-10-batches-py/data_batch_1"
    entries = _regular_entries(fake_cifar, fake_cifar.members(train_per_batch=2, test=2),
                               skip=[batch])
    path = _write_tar(str(tmp_path), entries + [(_link(batch, kind, target), None)])
    with pytest.raises(ValueError) as error:
        data.prepare("cifar10", work_dir, source_dir=str(tmp_path), verify_checksum=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {batch} is a {kind} link to {target!r}, not a regular file")
    assert "never followed" in message
    assert message.endswith(f"Download {archives.CIFAR10_URL} into {tmp_path}.")
    assert sorted(os.listdir(work_dir)) == ["mnist"]


def _zeros_gzip(path, mebibytes):
    # Zeros compress about 1000:1: 32 MiB of them take 32 kB on disk.
    with gzip.open(path, "wb") as f:
        for _ in range(mebibytes):
            f.write(bytes(1 << 20))


def _peak_traced_bytes(function):
    """`function()`'s exception and the peak of Python memory allocated meanwhile."""
    tracemalloc.start()
    try:
        function()
    except Exception as error:  # noqa: BLE001 - returned for the caller to check
        raised = error
    else:
        raised = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


def test_mnist_gzip_bomb_is_refused_at_the_cap_in_bounded_memory(tmp_path, raw_mnist_dir,
                                                                 monkeypatch):
    source = tmp_path / "archives"
    shutil.copytree(raw_mnist_dir, source)
    bomb = source / "train-images-idx3-ubyte.gz"
    _zeros_gzip(bomb, 32)
    assert bomb.stat().st_size < 100_000
    # A cap of 4 MiB stands in for the real 128 MiB, so that the test stays cheap.
    monkeypatch.setattr(archives, "MNIST_MAX_BYTES", 4 << 20)
    error, peak = _peak_traced_bytes(lambda: archives.read_mnist(str(source), "train"))
    assert isinstance(error, ValueError), error
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{bomb} inflates to more than 4194304 bytes (4 MiB, the cap for "
                              "an MNIST file) and was refused there")
    assert "Download https://storage.googleapis.com/cvdf-datasets/mnist/" in message
    # Decompressed whole, the 32 MiB would have been held at once.
    assert peak < 12 << 20, peak


def test_mnist_cap_is_inclusive_and_above_the_real_files(tmp_path, raw_mnist_dir, monkeypatch):
    # The largest real file inflates to 47,040,016 bytes; the cap leaves room.
    assert archives.MNIST_MAX_BYTES >= 2 * 47_040_016
    images, labels = archives.read_mnist(str(raw_mnist_dir), "test")
    assert images.shape == (10_000, 28, 28, 1) and labels.shape == (10_000,)
    # t10k-images inflates to 16 + 10,000 * 784 bytes: accepted at exactly
    # that cap, refused one byte below it.
    size = 16 + 10_000 * 784
    monkeypatch.setattr(archives, "MNIST_MAX_BYTES", size)
    assert archives.read_mnist(str(raw_mnist_dir), "test")[0].shape == (10_000, 28, 28, 1)
    monkeypatch.setattr(archives, "MNIST_MAX_BYTES", size - 1)
    with pytest.raises(ValueError,
                       match=rf"t10k-images-idx3-ubyte.gz inflates to more than {size - 1} bytes"):
        archives.read_mnist(str(raw_mnist_dir), "test")


class _Zeros(io.RawIOBase):
    """A file of `size` zero bytes, so that a large member costs no memory to write."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def test_cifar_tar_bomb_is_refused_at_the_cap_in_bounded_memory(tmp_path, work_dir, fake_cifar,
                                                                monkeypatch):
    # 32 MiB of zeros ahead of the real members, as an unwanted member:
    # skipping it still decompresses it.
    padding = tarfile.TarInfo("cifar-10-batches-py/padding")
    padding.size = 32 << 20
    path = os.path.join(str(tmp_path), archives.CIFAR10_ARCHIVE)
    with tarfile.open(path, "w:gz") as archive:
        archive.addfile(padding, io.BufferedReader(_Zeros(padding.size)))
        for info, payload in _regular_entries(fake_cifar, fake_cifar.members(2, 2)):
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    assert os.path.getsize(path) < 200_000
    monkeypatch.setattr(archives, "CIFAR10_MAX_BYTES", 4 << 20)
    error, peak = _peak_traced_bytes(
        lambda: archives.read_cifar10(str(tmp_path), "test", verify_checksum=False))
    assert isinstance(error, ValueError), error
    assert str(error).startswith(f"{path} inflates to more than 4194304 bytes (4 MiB, the cap "
                                 "for the CIFAR-10 archive) and was refused there")
    assert peak < 12 << 20, peak
    # Under the real cap the same archive reads: the padding is skipped.
    monkeypatch.setattr(archives, "CIFAR10_MAX_BYTES", 512 << 20)
    images, _, _ = archives.read_cifar10(str(tmp_path), "test", verify_checksum=False)
    assert images.shape == (2, 32, 32, 3)
    monkeypatch.setattr(archives, "CIFAR10_MAX_BYTES", 4 << 20)
    with pytest.raises(ValueError, match="inflates to more than"):
        data.prepare("cifar10", work_dir, source_dir=str(tmp_path), verify_checksum=False)
    assert sorted(os.listdir(work_dir)) == ["mnist"]


def test_oversized_cifar_member_is_refused_unread(tmp_path, fake_cifar, monkeypatch):
    batch = "cifar-10-batches-py/test_batch"
    members = fake_cifar.members(train_per_batch=2, test=2)
    big = tarfile.TarInfo(batch)
    big.size = 2 << 20
    path = os.path.join(str(tmp_path), archives.CIFAR10_ARCHIVE)
    with tarfile.open(path, "w:gz") as archive:
        for info, payload in _regular_entries(fake_cifar, members, skip=[batch]):
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
        archive.addfile(big, io.BufferedReader(_Zeros(big.size)))
    # The real caps: 2.2 and 2.9 times the real batch and archive.
    assert archives.CIFAR10_MAX_MEMBER_BYTES >= 2 * 31_035_704
    assert archives.CIFAR10_MAX_BYTES >= 2.5 * 186_000_000
    monkeypatch.setattr(archives, "CIFAR10_MAX_MEMBER_BYTES", 1 << 20)
    with pytest.raises(ValueError) as error:
        archives.read_cifar10(str(tmp_path), "test", verify_checksum=False)
    assert str(error.value).startswith(
        f"{path}: {batch} is 2097152 bytes by its header, more than the cap of 1048576 bytes "
        "(1 MiB) on one member, and was not read")


def _malformed(members, change):
    members = {name: dict(content) for name, content in members.items()}
    change(members)
    return members


BATCH = "cifar-10-batches-py/test_batch"
META = "cifar-10-batches-py/batches.meta"


@pytest.mark.parametrize("change, member, problem", [
    (lambda m: m[BATCH].update(data=m[BATCH]["data"].tolist()), BATCH,
     "holds data that is a list, not a uint8 array of shape (n, 3072)"),
    (lambda m: m[BATCH].update(data=m[BATCH]["data"].astype(np.float64)), BATCH,
     "holds data that is a float64 array of shape (2, 3072)"),
    (lambda m: m[BATCH].update(data=m[BATCH]["data"][:, :100]), BATCH,
     "holds data that is a uint8 array of shape (2, 100)"),
    (lambda m: m[BATCH].update(labels=[0, 10]), BATCH,
     "holds labels that are not a list of 2 integers in [0, 10)"),
    (lambda m: m[BATCH].update(labels=[0]), BATCH,
     "holds labels that are not a list of 2 integers in [0, 10)"),
    (lambda m: m[BATCH].update(labels=["cat", "dog"]), BATCH,
     "holds labels that are not a list of 2 integers in [0, 10)"),
    (lambda m: m[BATCH].update(labels=[2**70, 0]), BATCH,
     "holds labels that are not a list of 2 integers in [0, 10)"),
    (lambda m: m[BATCH].pop("labels"), BATCH, "holds no dict with keys ['data', 'labels']"),
    (lambda m: m[META].update(label_names=["cat"] * 9), META,
     "holds label_names that are not 10 non-empty strings"),
])
def test_malformed_cifar_contents_are_named(tmp_path, fake_cifar, change, member, problem):
    members = _malformed(fake_cifar.members(train_per_batch=2, test=2), change)
    path = fake_cifar.write(str(tmp_path), members)
    with pytest.raises(ValueError) as error:
        archives.read_cifar10(str(tmp_path), "test", verify_checksum=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {member} {problem}"), message
    assert message.endswith(f"Download {archives.CIFAR10_URL} into {tmp_path}.")


def test_unreadable_cifar_pickle_is_named(tmp_path, fake_cifar):
    members = fake_cifar.members(train_per_batch=2, test=2)
    # Every member cut short: the first one read, batches.meta, is named.
    path = fake_cifar.write(str(tmp_path), members, lambda content: pickle.dumps(content)[:40])
    with pytest.raises(ValueError) as error:
        archives.read_cifar10(str(tmp_path), "test", verify_checksum=False)
    assert str(error.value).startswith(f"{path}: {META} is not a readable pickle (")
    assert "\n" not in str(error.value)
