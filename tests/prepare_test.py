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


@pytest.mark.parametrize("name", ["mnist", "cluttered_mnist"])
def test_data_dir_that_is_not_a_folder_is_refused_first(tmp_path, raw_mnist_dir, name):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    source = {"source_dir": str(raw_mnist_dir)} if name == "mnist" else {}
    for data_dir, where in [(a_file, "exists and"), (a_file / "tfds", f"lies under {a_file}, which"),
                            (dangling, "exists and")]:
        with pytest.raises(NotADirectoryError) as error:
            data.prepare(name, str(data_dir), **source)
        message = str(error.value)
        assert message.startswith(f"data_dir {data_dir} {where} is not a folder. Pass the "
                                  "tensorflow-datasets folder"), message
        assert "\n" not in message
    assert a_file.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["a_file", "dangling"]
