"""Cluttered MNIST generated from the prepared MNIST (`infodropout_tf.data.cluttered_mnist`)."""

import os

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf.data import cluttered_mnist


SMALL_CLUTTER = {"num_train": 60, "num_test": 20}


def test_cluttered_mnist_shapes_distractors_boxes_and_determinism(work_dir, tmp_path, as_numpy):
    data.prepare("cluttered_mnist", work_dir, **SMALL_CLUTTER)
    examples = as_numpy("cluttered_mnist", "train", work_dir, **SMALL_CLUTTER)
    mnist = as_numpy("mnist", "train", work_dir)
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
    again = as_numpy("cluttered_mnist", "train", str(other_dir), **SMALL_CLUTTER)
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


def test_different_seeds_give_different_clutter(work_dir, as_numpy):
    for seed in (0, 1):
        data.prepare("cluttered_mnist", work_dir, generation_seed=seed, **SMALL_CLUTTER)
    first, second = (as_numpy("cluttered_mnist", "test", work_dir, generation_seed=seed,
                               **SMALL_CLUTTER) for seed in (0, 1))
    np.testing.assert_array_equal(first["label"], second["label"])
    assert not np.array_equal(first["image"], second["image"])


@pytest.mark.parametrize("option, value, expected", [
    ("image_size", 100_000_000, "an integer in [28, 512]"),
    ("image_size", 27, "an integer in [28, 512]"),
    ("num_distractors", 10**9, "an integer in [0, 1000]"),
    ("num_distractors", -1, "an integer in [0, 1000]"),
    ("generation_seed", 2**32, "an integer in [0, 4294967295]"),
    ("generation_seed", -1, "an integer in [0, 4294967295]"),
    ("num_train", 60_001, "an integer in [1, 60000]"),
    ("num_test", 10_001, "an integer in [1, 10000]"),
])
def test_generation_options_are_bounded(option, value, expected):
    with pytest.raises(ValueError) as error:
        cluttered_mnist.ClutteredMnistConfig(**{option: value})
    assert str(error.value) == (f"Invalid value received for argument `{option}`. Expected "
                                f"{expected}. Received: {option}={value!r}")


def test_largest_options_are_accepted():
    config = cluttered_mnist.ClutteredMnistConfig(
        image_size=cluttered_mnist.MAX_IMAGE_SIZE, num_distractors=cluttered_mnist.MAX_DISTRACTORS,
        generation_seed=cluttered_mnist.MAX_GENERATION_SEED, num_train=60_000)
    assert (config.image_size, config.num_distractors) == (512, 1000)
    assert config.seed == 2**32 - 1 and config.split_sizes["train"] == 60_000


def test_huge_canvas_is_refused_before_anything_is_written(work_dir):
    # The probe: unbounded, this asked numpy for an 8.88 PiB canvas.
    with pytest.raises(ValueError, match=r"`image_size`. Expected an integer in \[28, 512\]"):
        data.prepare("cluttered_mnist", work_dir, image_size=100_000_000)
    assert sorted(os.listdir(work_dir)) == ["mnist"]
