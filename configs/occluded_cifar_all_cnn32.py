"""All-CNN-32 on Occluded CIFAR-10 (paper Fig. 4): CIFAR classes behind MNIST digits.

The hyperparameters of `cifar_all_cnn32.py`; evaluation also trains a
classifier of the occluding digit (the nuisance) on the frozen
representation and reports its error: the more the representation discards
the nuisance, the higher that error.
"""

import pathlib

from infodropout_tf.training.config import from_file


def get_config():
    config = from_file(pathlib.Path(__file__).with_name("cifar_all_cnn32.py"))
    config.experiment = "occluded_cifar_all_cnn32"
    config.dataset.name = "occluded_cifar10"
    config.nuisance.enabled = True
    return config
