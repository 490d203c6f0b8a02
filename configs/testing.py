"""A tiny MNIST run for smoke tests and the quick start: a few steps only."""

from infodropout_tf.training.config import testing_overrides
from infodropout_tf.training.config_schema import base_config


def get_config():
    config = base_config()
    config.experiment = "testing"
    config.dataset.name = "mnist"
    config.model.name = "mlp"
    config.model.noise = "information"
    config.model.width = 32
    config.model.beta = 1.0
    config.model.num_train_examples = -1
    config.optimizer.learning_rate = 0.05
    return testing_overrides(config)
