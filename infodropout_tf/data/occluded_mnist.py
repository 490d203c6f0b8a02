"""Occluded MNIST: the paper's occlusion nuisance (section 8.3, Fig. 4) from MNIST alone.

The paper occludes CIFAR-10 images with MNIST digits; CIFAR-10 is not
always at hand, so this dataset builds the same structure from MNIST: each
32x32 frame holds a main MNIST digit (28x28, at a random offset) and, drawn
over it, a half-size occluding digit (14x14, the 2x2 mean of another MNIST
digit of the same split) at a random position inside the main digit's
square, so that it always covers part of it. The occluder is drawn in white
with its intensity as opacity, as in Occluded CIFAR-10. Each frame carries
two independent labels: the main digit (`label`, the task) and the
occluder's digit (`nuisance_label`, the nuisance the representation should
discard). The occluder is chosen uniformly among the other examples of the
split, so its label is independent of the main label.

Generation is deterministic: example i of a split draws from a NumPy
generator seeded with (seed, split, i).
"""

import numpy as np
import tensorflow_datasets as tfds

from infodropout_tf import _validation
from infodropout_tf.data.cluttered_mnist import MAX_GENERATION_SEED

FRAME_SIZE, DIGIT_SIZE, OCCLUDER_SIZE = 32, 28, 14
_SPLIT_CODES = {"train": 0, "test": 1}


def half_size(digit):
    """The 2x2 mean of a uint8 (28, 28) digit: uint8 (14, 14)."""
    pooled = digit.reshape(OCCLUDER_SIZE, 2, OCCLUDER_SIZE, 2).astype(np.float32).mean(axis=(1, 3))
    return np.rint(pooled).astype(np.uint8)


def occlude_digit(digit, occluder, rng):
    """Places `digit` in a 32x32 frame and draws `occluder` over it.

    Args:
        digit: uint8 (28, 28), the main digit.
        occluder: uint8 (28, 28), the digit that occludes it (halved).
        rng: `numpy.random.Generator`.

    Returns:
        `(frame uint8 (32, 32), occluder_box int32 (4,))`, the box
        `[top, left, bottom, right)` of the occluder's 14x14 square. Frame
        pixels p under the occluder become (1 - a) p + 255 a with a the
        occluder's intensity / 255.
    """
    frame = np.zeros((FRAME_SIZE, FRAME_SIZE), np.float32)
    top, left = rng.integers(0, FRAME_SIZE - DIGIT_SIZE + 1, size=2)
    frame[top : top + DIGIT_SIZE, left : left + DIGIT_SIZE] = digit
    # Inside the main digit's square, so that the occluder covers it.
    occluder_top, occluder_left = rng.integers(0, DIGIT_SIZE - OCCLUDER_SIZE + 1, size=2)
    occluder_top, occluder_left = top + occluder_top, left + occluder_left
    region = frame[occluder_top : occluder_top + OCCLUDER_SIZE,
                   occluder_left : occluder_left + OCCLUDER_SIZE]
    opacity = half_size(occluder) / 255.0
    region[...] = (1.0 - opacity) * region + opacity * 255.0
    box = np.array([occluder_top, occluder_left, occluder_top + OCCLUDER_SIZE,
                    occluder_left + OCCLUDER_SIZE], np.int32)
    return np.rint(frame).astype(np.uint8), box


class OccludedMnistConfig(tfds.core.BuilderConfig):
    """Seed and split sizes of a variant, each bounded and checked here.

    Args:
        generation_seed: Integer in [0, 2**32 - 1] (`MAX_GENERATION_SEED`).
        num_train: Integer in [1, 60000], training examples, drawn from
            MNIST's training split.
        num_test: Integer in [1, 10000], test examples, drawn from MNIST's
            test split.
    """

    def __init__(self, generation_seed=0, num_train=60_000, num_test=10_000):
        _validation.int_in("generation_seed", generation_seed, 0, MAX_GENERATION_SEED)
        # At most the MNIST split each is drawn from.
        _validation.int_in("num_train", num_train, 1, 60_000)
        _validation.int_in("num_test", num_test, 1, 10_000)
        super().__init__(
            name=f"seed{generation_seed}_train{num_train}_test{num_test}",
            description=f"Occluders drawn with seed {generation_seed}, {num_train} train / "
                        f"{num_test} test examples.",
        )
        self.seed = generation_seed
        self.split_sizes = {"train": num_train, "test": num_test}


class OccludedMnist(tfds.core.GeneratorBasedBuilder):
    """Occluded MNIST, generated from the prepared `mnist` dataset."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [OccludedMnistConfig()]

    def __init__(self, *, mnist_data_dir=None, **kwargs):
        self._mnist_data_dir = mnist_data_dir
        super().__init__(**kwargs)

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(FRAME_SIZE, FRAME_SIZE, 1)),
                "label": tfds.features.ClassLabel(num_classes=10),
                "nuisance_label": tfds.features.ClassLabel(num_classes=10),
                "occluder_box": tfds.features.Tensor(shape=(4,), dtype=np.int32),
                "mnist_index": tfds.features.Tensor(shape=(), dtype=np.int64),
                "occluder_index": tfds.features.Tensor(shape=(), dtype=np.int64),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Generated from MNIST prepared in `mnist_data_dir`.
        return {split: self._generate_examples(split) for split in _SPLIT_CODES}

    def _generate_examples(self, split):
        data = tfds.load("mnist", split=split, data_dir=self._mnist_data_dir,
                         download=False, batch_size=-1, as_supervised=True)
        images, labels = tfds.as_numpy(data)
        images = images[..., 0]
        config = self.builder_config
        for index in range(config.split_sizes[split]):
            rng = np.random.default_rng([config.seed, _SPLIT_CODES[split], index])
            other = int(rng.integers(len(images) - 1))
            other += other >= index  # never the digit itself
            frame, box = occlude_digit(images[index], images[other], rng)
            yield index, {
                "image": frame[..., None],
                "label": labels[index],
                "nuisance_label": labels[other],
                "occluder_box": box,
                "mnist_index": index,
                "occluder_index": other,
            }
