"""Deep Variational Information Bottleneck on MNIST (Alemi et al. 2016).

Two ReLU layers of 1024 units, a 256-dimensional Gaussian latent, a linear
softmax decoder, beta = 1e-3 per example, batch 100, 200 epochs; predictions average 12
latent samples at evaluation. The optimiser is their MNIST setting as
issue 30 states it (their paper is not among ../shared/references): Adam
at 1e-4 with beta1 = 0.5, the rate times 0.97 every 2 epochs. Their Polyak
averaging of the weights is not done here.
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
    config.optimizer.beta_1 = 0.5
    config.optimizer.decay_every = 2
    config.optimizer.decay = 0.97
    config.eval_num_samples = 12
    return config
