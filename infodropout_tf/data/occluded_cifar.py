"""Occluded CIFAR-10 (paper section 8.3, Fig. 4): CIFAR images behind MNIST digits.

Each CIFAR-10 image is occluded by a random MNIST digit of the same split,
drawn in white with its intensity as opacity at a random offset, so the
image carries two labels: the CIFAR class (`label`, the main task) and the
digit (`nuisance_label`, the nuisance the representation should discard).
Deterministic from the seed, like Cluttered MNIST.
"""

import numpy as np
import tensorflow_datasets as tfds

from infodropout_tf import _validation
from infodropout_tf.data.cluttered_mnist import MAX_GENERATION_SEED

_SPLIT_CODES = {"train": 0, "test": 1}
CIFAR_SIZE, DIGIT_SIZE = 32, 28


def occlude(image, digit, rng):
    """Draws `digit` (uint8 28x28) in white over `image` (uint8 32x32x3).

    Returns the occluded uint8 image; pixel p becomes
    (1 - a) * p + a * 255 with a = digit / 255 at a random offset.
    """
    top, left = rng.integers(0, CIFAR_SIZE - DIGIT_SIZE + 1, size=2)
    opacity = np.zeros((CIFAR_SIZE, CIFAR_SIZE, 1), np.float32)
    opacity[top : top + DIGIT_SIZE, left : left + DIGIT_SIZE, 0] = digit / 255.0
    blended = (1.0 - opacity) * image + opacity * 255.0
    return np.rint(blended).astype(np.uint8)


class OccludedCifar10Config(tfds.core.BuilderConfig):
    """The seed of a variant; every CIFAR-10 image is occluded once.

    Args:
        generation_seed: Integer in [0, 2**32 - 1] (`MAX_GENERATION_SEED`),
            checked here: it names the variant's folder.
    """

    def __init__(self, generation_seed=0):
        _validation.int_in("generation_seed", generation_seed, 0, MAX_GENERATION_SEED)
        super().__init__(name=f"seed{generation_seed}", description=f"Occlusions drawn with seed {generation_seed}.")
        self.seed = generation_seed


class OccludedCifar10(tfds.core.GeneratorBasedBuilder):
    """Occluded CIFAR-10, generated from prepared `cifar10` and `mnist`."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [OccludedCifar10Config()]

    def __init__(self, *, source_data_dir=None, **kwargs):
        self._source_data_dir = source_data_dir
        super().__init__(**kwargs)

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(CIFAR_SIZE, CIFAR_SIZE, 3)),
                "label": tfds.features.ClassLabel(num_classes=10),
                "nuisance_label": tfds.features.ClassLabel(num_classes=10),
                "cifar_index": tfds.features.Tensor(shape=(), dtype=np.int64),
                "mnist_index": tfds.features.Tensor(shape=(), dtype=np.int64),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Generated from prepared CIFAR-10 and MNIST.
        cifar_builder = tfds.builder("cifar10", data_dir=self._source_data_dir)
        self.info.features["label"].names = cifar_builder.info.features["label"].names
        return {split: self._generate_examples(split) for split in _SPLIT_CODES}

    def _load(self, name, split):
        data = tfds.load(name, split=split, data_dir=self._source_data_dir,
                         download=False, batch_size=-1)
        return tfds.as_numpy(data)

    def _generate_examples(self, split):
        cifar = self._load("cifar10", split)
        # Index i is the i-th image of the original archive (ids "test_00012").
        order = np.argsort([int(i.decode().rsplit("_", 1)[1]) for i in cifar["id"]])
        images, labels = cifar["image"][order], cifar["label"][order]
        mnist = self._load("mnist", split)
        digits, digit_labels = mnist["image"], mnist["label"]
        for index in range(len(images)):
            rng = np.random.default_rng([self.builder_config.seed, _SPLIT_CODES[split], index])
            digit_index = int(rng.integers(len(digits)))
            yield index, {
                "image": occlude(images[index], digits[digit_index, ..., 0], rng),
                "label": labels[index],
                "nuisance_label": digit_labels[digit_index],
                "cifar_index": index,
                "mnist_index": digit_index,
            }
