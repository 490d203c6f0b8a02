"""Information plane of LeNet on MNIST (Adilova, Geiger & Fischer, ICLR 2023, Fig. 1).

LeNet-5 with softplus units and the dropout block on its 84-unit
penultimate layer, trained as their code trains it: SGD with momentum 0.9
and learning rate 0.1, weight decay 1e-3, batch 256 (their cosine decay
over 200 epochs is replaced by drops at epochs 18 and 25 of 30);
information dropout with the log-normal prior and beta = 3 (KL divided by
the training examples), or `--config.model.noise=gaussian` for Gaussian
dropout at rate 0.2 (noise standard deviation 0.5). Every epoch the
information-plane callback estimates (I(X;Z), I(Z;Y)) of that layer on
10,000 training and 10,000 test examples and writes
`information_plane.{json,csv,png}` in the workdir: the closed-form KL bound
for information dropout, the Gaussian-mixture estimate of Adilova et al.
(one component per example, so at most log 10,000 = 9.21 nats) for
Gaussian dropout, and binning for both.
"""

from infodropout_tf.training.config_schema import base_config


def get_config():
    config = base_config()
    config.experiment = "mnist_lenet_information_plane"
    config.dataset.name = "mnist"
    config.model.name = "lenet"
    config.model.noise = "information"
    config.model.activation = "softplus"
    config.model.weight_decay = 1e-3
    config.model.max_alpha = 0.7
    config.model.beta = 3.0
    config.model.num_train_examples = -1
    config.model.dropout_rate = 0.2
    config.batch_size = 256
    config.num_epochs = 30
    config.optimizer.name = "sgd"
    config.optimizer.learning_rate = 0.1
    config.optimizer.momentum = 0.9
    config.optimizer.nesterov = False
    config.optimizer.boundaries = (18, 25)
    config.information_plane.enabled = True
    config.information_plane.layers = ("dropout",)
    config.information_plane.num_examples = 10_000
    return config
