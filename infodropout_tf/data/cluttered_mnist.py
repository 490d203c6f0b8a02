"""Cluttered MNIST (paper section 8.2, Fig. 2), generated from real MNIST.

Each image is a blank canvas (96x96 in the paper) holding one MNIST digit at
a random position and `num_distractors` (21) distractors: random 8x8 crops
of other random MNIST digits of the same split at random positions, as in
DeepMind's mnist-cluttered recipe. Overlaps keep the brighter pixel. The
digit's tight bounding box is recorded, so that KL maps can be scored
against it.

Generation is deterministic: example i of a split draws from a NumPy
generator seeded with (seed, split, i), so the same config gives
byte-identical data however it is generated.
"""

import numpy as np
import tensorflow_datasets as tfds

from infodropout_tf import _validation

DIGIT_SIZE = 28
CROP_SIZE = 8
_SPLIT_CODES = {"train": 0, "test": 1}

# Upper bounds of the generation options, checked before anything is
# generated, so that a typo cannot ask for petabytes. A 512x512 canvas is
# 256 KiB per example, at most 17.1 GiB for 70,000 examples before PNG
# compression (the paper's 96x96 is 9 KiB). 1,000 distractors gather 784 KB
# of source digits per example and take about 30 ms to place at 512x512 on
# one core, 35 minutes for 70,000 examples.
MAX_IMAGE_SIZE = 512
MAX_DISTRACTORS = 1000
# Seeds are part of the variant's folder name, which must stay short; this
# is the range of a 32-bit seed, for Cluttered MNIST, Occluded MNIST and
# Occluded CIFAR-10 alike.
MAX_GENERATION_SEED = 2**32 - 1


def clutter(digit, distractor_sources, rng, image_size):
    """Places a digit and one distractor crop per source on a blank canvas.

    Args:
        digit: uint8 (28, 28) image.
        distractor_sources: uint8 (n, 28, 28) images; a random 8x8 crop of
            each becomes a distractor.
        rng: `numpy.random.Generator`.
        image_size: Integer >= 28, side of the square canvas.

    Returns:
        `(canvas uint8 (image_size, image_size), box int32 (4,))` with the
        digit's tight box `[top, left, bottom, right)` (bottom and right
        exclusive) in canvas pixels.
    """
    canvas = np.zeros((image_size, image_size), np.uint8)
    for source in distractor_sources:
        y, x = rng.integers(0, DIGIT_SIZE - CROP_SIZE + 1, size=2)
        top, left = rng.integers(0, image_size - CROP_SIZE + 1, size=2)
        region = canvas[top : top + CROP_SIZE, left : left + CROP_SIZE]
        np.maximum(region, source[y : y + CROP_SIZE, x : x + CROP_SIZE], out=region)
    top, left = rng.integers(0, image_size - DIGIT_SIZE + 1, size=2)
    region = canvas[top : top + DIGIT_SIZE, left : left + DIGIT_SIZE]
    np.maximum(region, digit, out=region)
    rows = np.flatnonzero(digit.any(axis=1))
    columns = np.flatnonzero(digit.any(axis=0))
    box = np.array(
        [top + rows[0], left + columns[0], top + rows[-1] + 1, left + columns[-1] + 1],
        np.int32,
    )
    return canvas, box


class ClutteredMnistConfig(tfds.core.BuilderConfig):
    """Image size, distractor count, seed and split sizes of a variant.

    Every option has an upper bound, checked here, before anything is
    generated (the module's constants say what the bounds cost).

    Args:
        image_size: Integer in [28, 512] (`MAX_IMAGE_SIZE`), the side of
            the square canvas. The paper's is 96.
        num_distractors: Integer in [0, 1000] (`MAX_DISTRACTORS`), 8x8
            crops of other digits per image. The paper's is 21.
        generation_seed: Integer in [0, 2**32 - 1]
            (`MAX_GENERATION_SEED`).
        num_train: Integer in [1, 60000], training examples, drawn from
            MNIST's training split.
        num_test: Integer in [1, 10000], test examples, drawn from MNIST's
            test split.
    """

    def __init__(self, image_size=96, num_distractors=21, generation_seed=0,
                 num_train=50_000, num_test=10_000):
        _validation.int_in("image_size", image_size, DIGIT_SIZE, MAX_IMAGE_SIZE)
        _validation.int_in("num_distractors", num_distractors, 0, MAX_DISTRACTORS)
        _validation.int_in("generation_seed", generation_seed, 0, MAX_GENERATION_SEED)
        # At most the MNIST split each is drawn from.
        _validation.int_in("num_train", num_train, 1, 60_000)
        _validation.int_in("num_test", num_test, 1, 10_000)
        super().__init__(
            name=f"size{image_size}_distractors{num_distractors}_seed{generation_seed}"
                 f"_train{num_train}_test{num_test}",
            description=f"{image_size}x{image_size}, {num_distractors} distractors, "
                        f"seed {generation_seed}, {num_train} train / {num_test} test examples.",
        )
        self.image_size = image_size
        self.num_distractors = num_distractors
        self.seed = generation_seed
        self.split_sizes = {"train": num_train, "test": num_test}


class ClutteredMnist(tfds.core.GeneratorBasedBuilder):
    """Cluttered MNIST, generated from the prepared `mnist` dataset."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [ClutteredMnistConfig()]

    def __init__(self, *, mnist_data_dir=None, **kwargs):
        self._mnist_data_dir = mnist_data_dir
        super().__init__(**kwargs)

    def _info(self):
        size = self.builder_config.image_size
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(size, size, 1)),
                "label": tfds.features.ClassLabel(num_classes=10),
                "digit_box": tfds.features.Tensor(shape=(4,), dtype=np.int32),
                "mnist_index": tfds.features.Tensor(shape=(), dtype=np.int64),
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
            others = rng.integers(len(images) - 1, size=config.num_distractors)
            others = others + (others >= index)  # never the digit itself
            canvas, box = clutter(images[index], images[others], rng, config.image_size)
            yield index, {
                "image": canvas[..., None],
                "label": labels[index],
                "digit_box": box,
                "mnist_index": index,
            }
