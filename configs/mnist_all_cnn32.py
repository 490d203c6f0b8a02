"""All-CNN-32 with information dropout on MNIST (information flow, paper Fig. 6).

The paper measures the information flow of All-CNN-32 on CIFAR-10 for
several filter fractions; CIFAR-10 is not always at hand, so this config
trains the same network (input 28x28x1) on MNIST with the CIFAR settings of
`cifar_all_cnn32.py`: batch 100, Nesterov momentum 0.9, learning rate 0.05,
weight decay 0.001, beta 3, max_alpha 0.7, input dropout 0.2, ReLU. Sweep
`--config.model.filter_fraction`; the per-layer flow is written to
`information_flow.json` every epoch.
"""

from infodropout_tf.training.config import base_config


def get_config():
    config = base_config()
    config.experiment = "mnist_all_cnn32"
    config.dataset.name = "mnist"
    config.model.name = "all_cnn_32"
    config.model.input_shape = (28, 28, 1)
    config.model.noise = "information"
    config.model.activation = "relu"
    config.model.filter_fraction = 0.25
    config.model.input_dropout_rate = 0.2
    config.model.weight_decay = 0.001
    config.model.max_alpha = 0.7
    config.model.beta = 3.0
    config.model.num_train_examples = -1
    config.model.dropout_rate = 0.5
    config.batch_size = 100
    config.num_epochs = 20
    config.optimizer.learning_rate = 0.05
    config.optimizer.boundaries = (10, 15)
    return config
