"""Information plane of LeNet on MNIST (Adilova, Geiger & Fischer, ICLR 2023, Fig. 1).

LeNet-5 with the dropout block on its penultimate layer; every epoch the
information-plane callback estimates (I(X;Z), I(Z;Y)) of that layer on
1,000 training and 1,000 test examples and writes
`information_plane.{json,csv,png}` in the workdir. Information dropout
gives the closed-form KL bound; `--config.model.noise=gaussian` gives the
Gaussian-mixture estimate of Adilova et al. Binning is recorded for both.
"""

from infodropout_tf.training.config import base_config


def get_config():
    config = base_config()
    config.experiment = "mnist_lenet_information_plane"
    config.dataset.name = "mnist"
    config.model.name = "lenet"
    config.model.noise = "information"
    config.model.activation = "softplus"
    config.model.weight_decay = 0.0
    config.model.max_alpha = 0.7
    config.model.beta = 1.0
    config.model.num_train_examples = -1
    config.model.dropout_rate = 0.2
    config.batch_size = 128
    config.num_epochs = 30
    config.optimizer.name = "adam"
    config.optimizer.learning_rate = 1e-3
    config.information_plane.enabled = True
    config.information_plane.layers = ("dropout",)
    return config
