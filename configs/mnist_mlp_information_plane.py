"""Information plane of the 784-512-128-32-10 MLP on MNIST (Adilova, Geiger & Fischer, ICLR 2023, Fig. 5).

Softplus hidden layers of 512, 128 and 32 units, Gaussian dropout with
noise variance 0.2 (rate 1/6: variance = rate / (1 - rate)) on the
32-unit penultimate layer only (`dropout3`); SGD with momentum 0.9 and
learning rate 0.1, weight decay 1e-3, batch 256, as their code trains it
(their cosine decay over 200 epochs is replaced by drops at 60% and 85%
of training). Every epoch the information-plane callback estimates
(I(X;Z), I(Z;Y)) of `dropout3` on 10,000 training and 10,000 test
examples: the Gaussian-mixture estimate has one component per example,
so its ceiling is log 10,000 = 9.21 nats. `--config.model.noise=information`
gives information dropout with the closed-form bound instead.
"""

from infodropout_tf.training.config_schema import base_config


def get_config():
    config = base_config()
    config.experiment = "mnist_mlp_information_plane"
    config.dataset.name = "mnist"
    config.model.name = "mlp"
    config.model.hidden_units = (512, 128, 32)
    config.model.noisy_layers = "last"
    config.model.noise = "gaussian"
    config.model.activation = "softplus"
    config.model.weight_decay = 1e-3
    config.model.max_alpha = 0.7
    config.model.beta = 1.0
    config.model.num_train_examples = -1
    config.model.dropout_rate = 1 / 6
    config.batch_size = 256
    config.num_epochs = 100
    config.optimizer.name = "sgd"
    config.optimizer.learning_rate = 0.1
    config.optimizer.momentum = 0.9
    config.optimizer.nesterov = False
    config.optimizer.boundaries = (60, 85)
    config.information_plane.enabled = True
    config.information_plane.layers = ("dropout3",)
    config.information_plane.num_examples = 10_000
    return config
