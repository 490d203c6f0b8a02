"""Reading the MNIST and CIFAR-10 archives downloaded by hand (`infodropout_tf.data.archives`).

CIFAR-10 archives are faked in the real layout (conftest.py's `fake_cifar`).
"""

import gzip
import hashlib
import os
import pathlib
import pickle
import re
import shutil

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
