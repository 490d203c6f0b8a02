"""All-CNN-32 on Occluded CIFAR-10 (paper Fig. 4): CIFAR classes behind MNIST digits.

The hyperparameters of `cifar_all_cnn32.py`; evaluation also trains a
classifier of the occluding digit (the nuisance) on the frozen
representation and reports its error: the more the representation discards
the nuisance, the higher that error.
"""

import importlib.util
import pathlib

_CIFAR = pathlib.Path(__file__).with_name("cifar_all_cnn32.py")


def get_config():
    spec = importlib.util.spec_from_file_location("cifar_all_cnn32", _CIFAR)
    cifar = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cifar)
    config = cifar.get_config()
    config.experiment = "occluded_cifar_all_cnn32"
    config.dataset.name = "occluded_cifar10"
    config.nuisance.enabled = True
    return config
