"""All-CNN-32 on Occluded CIFAR-10 (paper Fig. 4): CIFAR classes behind MNIST digits.

The hyperparameters of `cifar_all_cnn32.py`; evaluation also trains a
classifier of the occluding digit (the nuisance) on the frozen
representation and reports its error: the more the representation discards
the nuisance, the higher that error.
"""

from infodropout_tf.training.config import base_config


def get_config():
    config = base_config()
    config.experiment = "occluded_cifar_all_cnn32"
    config.dataset.name = "occluded_cifar10"
    config.model.name = "all_cnn_32"
    config.model.noise = "information"
    config.model.activation = "relu"
    config.model.filter_fraction = 1.0
    config.model.input_dropout_rate = 0.2
    config.model.weight_decay = 0.001
    config.model.max_alpha = 0.7
    config.model.beta = 3.0
    config.model.num_train_examples = -1
    config.model.dropout_rate = 0.5
    config.batch_size = 100
    config.num_epochs = 200
    config.optimizer.learning_rate = 0.05
    config.optimizer.boundaries = (80, 120, 160)
    config.nuisance.enabled = True
    return config
