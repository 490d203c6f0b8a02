"""Occluded CIFAR-10: CIFAR-10 behind an MNIST digit (`infodropout_tf.data.occluded_cifar`).

CIFAR-10 is faked in the format of its python archive (conftest.py's
`fake_cifar`); MNIST is the shared prepared copy.
"""

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf.data import occluded_cifar


def test_occluded_cifar_has_both_labels_and_the_digit_drawn_in(tmp_path, work_dir, fake_cifar,
                                                               as_numpy):
    fake_cifar.fake(str(tmp_path))
    data.prepare("cifar10", work_dir, source_dir=str(tmp_path), verify_checksum=False)
    data.prepare("occluded_cifar10", work_dir, generation_seed=3)
    occluded = as_numpy("occluded_cifar10", "test", work_dir, generation_seed=3)
    cifar = as_numpy("cifar10", "test", work_dir)
    mnist = as_numpy("mnist", "test", work_dir)
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


def test_occlude_blends_with_digit_opacity():
    image = np.full((32, 32, 3), 100, np.uint8)
    digit = np.zeros((28, 28), np.uint8)
    digit[10, 10], digit[11, 11] = 255, 51
    occluded = occluded_cifar.occlude(image, digit, np.random.default_rng(0))
    values = sorted(set(occluded.reshape(-1, 3)[:, 0].tolist()))
    assert values == [100, 131, 255]  # 100 + 0.2 * (255 - 100) = 131


def test_generation_seed_is_checked():
    # Unchecked, a negative seed failed in numpy mid-generation and a
    # 300-digit one made a folder name longer than a file system allows.
    for seed in (-1, 2**32, 10**300, 1.5, True):
        with pytest.raises(ValueError,
                           match=r"`generation_seed`. Expected an integer in \[0, 4294967295\]"):
            occluded_cifar.OccludedCifar10Config(generation_seed=seed)
    assert occluded_cifar.OccludedCifar10Config(generation_seed=7).seed == 7
