"""All-CNN-32 on Occluded MNIST (paper Fig. 4, from MNIST alone).

A main MNIST digit in a 32x32 frame behind a half-size occluding digit
whose label is independent (`python -m infodropout_tf.data prepare
occluded_mnist` first). The network learns the main digit with the
settings of `cifar_all_cnn32.py` (ReLU, log-uniform prior, max_alpha 0.7,
the KL divided by the training-set size) at a quarter of the filters;
training ends, as in the paper, with a classifier of the occluding digit
(the nuisance) trained on the frozen, noisy output of the last
information-dropout layer: the more the representation discards the
nuisance, the higher that classifier's error.
"""

import pathlib

from infodropout_tf.training.config import from_file


def get_config():
    config = from_file(pathlib.Path(__file__).with_name("cifar_all_cnn32.py"))
    config.experiment = "occluded_mnist_all_cnn32"
    config.dataset.name = "occluded_mnist"
    config.dataset.options.generation_seed = 0
    config.dataset.options.num_train = 60_000
    config.dataset.options.num_test = 10_000
    config.model.input_shape = (32, 32, 1)
    config.model.filter_fraction = 0.25
    config.nuisance.enabled = True
    config.nuisance.representation_layer = "dropout2"
    config.num_epochs = 20
    config.optimizer.boundaries = (10, 15)
    return config
