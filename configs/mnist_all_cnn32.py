"""All-CNN-32 with information dropout on MNIST (information flow, paper Fig. 6).

The paper measures the information flow of All-CNN-32 on CIFAR-10 for
several filter fractions; CIFAR-10 is not always at hand, so this config
trains the same network (input 28x28x1) on MNIST with the settings of
`cifar_all_cnn32.py` (batch 100, Nesterov momentum 0.9, learning rate 0.05,
weight decay 0.001, beta 3, max_alpha 0.7, input dropout 0.2, ReLU), a
quarter of the filters and a 20-epoch schedule. Sweep
`--config.model.filter_fraction`; the per-layer flow is written to
`information_flow.json` every epoch.
"""

import pathlib

from infodropout_tf.training.config import from_file


def get_config():
    config = from_file(pathlib.Path(__file__).with_name("cifar_all_cnn32.py"))
    config.experiment = "mnist_all_cnn32"
    config.dataset.name = "mnist"
    config.model.input_shape = (28, 28, 1)
    config.model.filter_fraction = 0.25
    config.num_epochs = 20
    config.optimizer.boundaries = (10, 15)
    return config
