"""tensorflow-datasets builders that prepare MNIST and CIFAR-10 from local files.

They subclass the official `mnist` and `cifar10` builders and keep their
names, versions, features and example keys, so the prepared data is what
`tfds.load("mnist")` / `tfds.load("cifar10")` would have written after a
download and is read back by them. Only the source changes: archives a user
downloaded by hand (`archives.py`), for clusters without internet.
"""

import tensorflow_datasets as tfds
from tensorflow_datasets.image_classification import cifar
from tensorflow_datasets.image_classification import mnist

from infodropout_tf.data import archives


def _examples(images, labels, id_prefix=None):
    # Keys are the example indices, as in the official builders, so the
    # shuffled on-disk order matches theirs.
    for index, (image, label) in enumerate(zip(images, labels)):
        record = {"image": image, "label": label}
        if id_prefix is not None:
            record["id"] = f"{id_prefix}{index:05d}"
        yield index, record


with tfds.core.registered.skip_registration():

    class OfflineMnist(mnist.MNIST):
        """The official `mnist` builder reading the four IDX `.gz` files."""

        name = "mnist"

        def __init__(self, *, source_dir, **kwargs):
            self._source_dir = source_dir
            super().__init__(**kwargs)

        def _split_generators(self, dl_manager):
            del dl_manager  # Nothing is downloaded.
            return {
                split: _examples(*archives.read_mnist(self._source_dir, split))
                for split in ("train", "test")
            }

    class OfflineCifar10(cifar.Cifar10):
        """The official `cifar10` builder reading `cifar-10-python.tar.gz`."""

        name = "cifar10"

        def __init__(self, *, source_dir, verify_checksum=True, **kwargs):
            self._source_dir = source_dir
            self._verify_checksum = verify_checksum
            super().__init__(**kwargs)

        def _split_generators(self, dl_manager):
            del dl_manager  # Nothing is downloaded.
            generators = {}
            for split in ("train", "test"):
                images, labels, names = archives.read_cifar10(
                    self._source_dir, split, verify_checksum=self._verify_checksum
                )
                self.info.features["label"].names = names
                generators[split] = _examples(images, labels, id_prefix=f"{split}_")
            return generators
