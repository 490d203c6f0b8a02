"""Deep Variational Information Bottleneck on MNIST (Alemi et al. 2016).

Two ReLU layers of 1024 units, a 256-dimensional Gaussian latent, a linear
softmax decoder, beta = 1e-3 per example, Adam with learning rate 1e-4,
batch 100; predictions average 12 latent samples at evaluation.
"""

from infodropout_tf.training.config_schema import base_config


def get_config():
    config = base_config()
    config.experiment = "mnist_vib"
    config.dataset.name = "mnist"
    config.model.name = "vib"
    config.model.hidden_units = (1024, 1024)
    config.model.latent_dim = 256
    config.model.beta = 1e-3
    config.model.weight_decay = 0.0
    config.batch_size = 100
    config.num_epochs = 200
    config.optimizer.name = "adam"
    config.optimizer.learning_rate = 1e-4
    config.eval_num_samples = 12
    return config
