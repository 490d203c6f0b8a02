"""Offline preparation leaves nothing behind on failure (`infodropout_tf.data.prepare`)."""

import os
import shutil

import pytest

from infodropout_tf import data


def test_truncated_mnist_archive_leaves_nothing_behind(tmp_path, raw_mnist_dir):
    source = tmp_path / "archives"
    shutil.copytree(raw_mnist_dir, source)
    payload = (source / "t10k-images-idx3-ubyte.gz").read_bytes()
    (source / "t10k-images-idx3-ubyte.gz").write_bytes(payload[: len(payload) // 2])
    target = tmp_path / "tfds"
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz is not a complete gzip"):
        data.prepare("mnist", str(target), source_dir=str(source))
    assert not target.exists()


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
