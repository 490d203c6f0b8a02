"""ZCA whitening (`infodropout_tf.data.zca`)."""

import io
import pathlib
import zipfile

import numpy as np
import pytest

from infodropout_tf.data import zca


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


def test_whitening_is_stored_once_and_read_back(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, size=(50, 2, 2, 3), dtype=np.uint8)
    calls = []

    def training_images():
        calls.append(1)
        return images

    matrix, mean = zca.load_or_fit(str(tmp_path), training_images)
    again, again_mean = zca.load_or_fit(str(tmp_path), training_images)
    assert len(calls) == 1 and matrix.shape == (12, 12) and mean.shape == (12,)
    np.testing.assert_array_equal(again, matrix)
    np.testing.assert_array_equal(again_mean, mean)


def _npy(shape, dtype="<f4", data=None):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": dtype, "fortran_order": False, "shape": shape})
    return header.getvalue() + (bytes(4 * int(np.prod(shape))) if data is None else data)


def _zip(members):
    def write(path):
        with zipfile.ZipFile(path, "w") as archive:
            for name, payload in members.items():
                archive.writestr(name, payload)
    return write


FLOAT32_EYE = np.eye(3, dtype=np.float32)
ZEROS = np.zeros(3, np.float32)


@pytest.mark.parametrize("write, problem", [
    (lambda path: pathlib.Path(path).write_bytes(b"not a zip"),
     "it could not be read: File is not a zip file"),
    (lambda path: np.savez(path, matrix=FLOAT32_EYE),
     "it holds ['matrix.npy'], not matrix.npy and mean.npy"),
    (lambda path: np.savez(path, matrix=FLOAT32_EYE[:2], mean=ZEROS),
     "its matrix has shape (2, 3) and its mean (3,), not (d, d) and (d,) with 1 <= d <= 8192"),
    (lambda path: np.savez(path, matrix=np.eye(3), mean=ZEROS),
     "its arrays are float64 and float32, not float32"),
    (lambda path: np.savez(path, matrix=FLOAT32_EYE * np.nan, mean=ZEROS),
     "it holds values that are not finite"),
    # A header claiming a 3.6 TiB matrix: refused before numpy allocates it.
    (_zip({"matrix.npy": _npy((10**6, 10**6), data=b""), "mean.npy": _npy((10**6,), data=b"")}),
     "its matrix has shape (1000000, 1000000) and its mean (1000000,), not (d, d) and (d,)"),
    (_zip({"matrix.npy": _npy((3, 3), data=bytes(10)), "mean.npy": _npy((3,))}),
     "it could not be read: EOF: reading array data, expected 36 bytes got 10"),
])
def test_stored_file_that_is_not_a_whitening_is_named_and_kept(tmp_path, write, problem):
    path = tmp_path / zca.FILENAME
    write(str(path))
    content = path.read_bytes()

    def training_images():
        raise AssertionError("a stored file is never replaced by a new fit")

    with pytest.raises(ValueError) as error:
        zca.load_or_fit(str(tmp_path), training_images)
    message = str(error.value)
    assert message.startswith(f"{path} is not a ZCA whitening stored by infodropout_tf: {problem}")
    assert message.endswith("Delete it; the whitening is fitted again from the training images "
                            "and stored there at the next load.")
    assert "\n" not in message
    assert path.read_bytes() == content
