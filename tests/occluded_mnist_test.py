"""Occluded MNIST generated from the prepared MNIST (`infodropout_tf.data.occluded_mnist`)."""

import os

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf.data import occluded_mnist

SMALL = {"num_train": 200, "num_test": 20}


def test_half_size_is_the_2x2_mean():
    digit = np.arange(28 * 28, dtype=np.float64).reshape(28, 28) % 256
    expected = (digit[0::2, 0::2] + digit[1::2, 0::2] + digit[0::2, 1::2] + digit[1::2, 1::2]) / 4
    np.testing.assert_array_equal(occluded_mnist.half_size(digit.astype(np.uint8)),
                                  np.rint(expected).astype(np.uint8))


def test_occluder_is_blended_over_the_main_digit_inside_its_square():
    digit = np.full((28, 28), 100, np.uint8)
    occluder = np.zeros((28, 28), np.uint8)
    occluder[:, :14] = 255  # left half opaque: the halved occluder's left 7 columns
    for seed in range(20):
        frame, box = occluded_mnist.occlude_digit(digit, occluder, np.random.default_rng(seed))
        top, left, bottom, right = box
        assert (bottom - top, right - left) == (14, 14)
        # The main digit is the only other content: its 28x28 square holds
        # the whole occluder box.
        rows, cols = np.flatnonzero(frame.any(axis=1)), np.flatnonzero(frame.any(axis=0))
        assert rows[-1] - rows[0] == cols[-1] - cols[0] == 27
        assert rows[0] <= top and bottom <= rows[-1] + 1
        assert cols[0] <= left and right <= cols[-1] + 1
        # Opaque occluder pixels are white, transparent ones keep the digit.
        assert np.all(frame[top:bottom, left:left + 7] == 255)
        assert np.all(frame[top:bottom, left + 7:right] == 100)
        assert np.count_nonzero(frame == 255) == 14 * 7


def test_occluded_mnist_labels_determinism_and_independence(work_dir, tmp_path, as_numpy):
    data.prepare("occluded_mnist", work_dir, **SMALL)
    examples = as_numpy("occluded_mnist", "train", work_dir, **SMALL)
    mnist = as_numpy("mnist", "train", work_dir)
    assert examples["image"].shape == (200, 32, 32, 1)
    # tensorflow-datasets stores examples in the order of their hashed keys.
    np.testing.assert_array_equal(np.sort(examples["mnist_index"]), np.arange(200))
    np.testing.assert_array_equal(examples["label"], mnist["label"][examples["mnist_index"]])
    np.testing.assert_array_equal(examples["nuisance_label"],
                                  mnist["label"][examples["occluder_index"]])
    assert np.all(examples["occluder_index"] != examples["mnist_index"])
    # The frame is the main digit with the halved occluder blended over it:
    # rebuilt here from the two MNIST digits and the recorded box.
    for image, index, other, box in zip(examples["image"][:20], examples["mnist_index"],
                                        examples["occluder_index"], examples["occluder_box"]):
        top, left, bottom, right = box
        opacity = occluded_mnist.half_size(mnist["image"][other, ..., 0]) / 255.0
        under = image[top:bottom, left:right, 0].astype(np.float64)
        # Outside the box the frame holds the main digit alone, unchanged.
        outside = image[..., 0].astype(np.int64)
        outside[top:bottom, left:right] = -1
        digit_pixels = np.sort(outside[outside > 0])
        assert set(digit_pixels) <= set(mnist["image"][index].ravel())
        assert np.all(under >= np.rint(opacity * 255.0) - 1)
    # Occluder labels are drawn independently of the main label: over 200
    # examples the two agree about as often as chance (1/10), far from 1.
    agreement = np.mean(examples["label"] == examples["nuisance_label"])
    assert agreement < 0.25

    # Same seed: byte-identical data, prepared again elsewhere.
    other_dir = tmp_path / "again"
    other_dir.mkdir()
    (other_dir / "mnist").symlink_to(os.readlink(os.path.join(work_dir, "mnist")))
    data.prepare("occluded_mnist", str(other_dir), **SMALL)
    again = as_numpy("occluded_mnist", "train", str(other_dir), **SMALL)
    for key in examples:
        np.testing.assert_array_equal(again[key], examples[key])
    # Another seed: the same digits, other occluders.
    data.prepare("occluded_mnist", work_dir, generation_seed=1, **SMALL)
    reseeded = as_numpy("occluded_mnist", "train", work_dir, generation_seed=1, **SMALL)
    first, second = np.argsort(examples["mnist_index"]), np.argsort(reseeded["mnist_index"])
    np.testing.assert_array_equal(reseeded["label"][second], examples["label"][first])
    assert np.mean(reseeded["occluder_index"][second] != examples["occluder_index"][first]) > 0.9

    # The pipeline yields (image, nuisance label) pairs for the nuisance classifier.
    images, labels = next(iter(data.load("occluded_mnist", "test", work_dir, batch_size=20,
                                         shuffle=False, label_key="nuisance_label", **SMALL)))
    test = as_numpy("occluded_mnist", "test", work_dir, **SMALL)
    np.testing.assert_allclose(images.numpy(), test["image"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(labels.numpy(), test["nuisance_label"])


def test_bad_split_size_names_the_option():
    with pytest.raises(ValueError, match="num_test"):
        occluded_mnist.OccludedMnistConfig(num_test=20_000)


def test_generation_seed_is_bounded():
    # The seed names the variant's folder: beyond 2**32 - 1 it could outgrow a file name.
    for seed in (-1, 2**32, 10**300):
        with pytest.raises(ValueError,
                           match=r"`generation_seed`. Expected an integer in \[0, 4294967295\]"):
            occluded_mnist.OccludedMnistConfig(generation_seed=seed)
    assert occluded_mnist.OccludedMnistConfig(generation_seed=2**32 - 1).seed == 2**32 - 1
