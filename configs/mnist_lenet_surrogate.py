"""LeNet on MNIST with a surrogate information-bottleneck objective (Kirsch, Lyle & Gal).

"Unpacking Information Bottlenecks" adds zero-entropy noise N(0, 1/(2 pi e))
to a deterministic representation Z, so that H(Z'|X) = 0 and I(X; Z') =
H(Z'), and penalises a tractable surrogate of H(Z') or H(Z'|Y) with weight
gamma. Here Z is LeNet-5's 84-unit penultimate layer (`dense2`, ReLU, as
their ResNets; the network is the one of the Adilova et al. plane, not
theirs), the noise layer is `dropout`, and the objective is

    cross-entropy + gamma * surrogate(Z)

with `model.surrogate` one of "squared_norm" (E||Z||^2),
"log_variance" (sum_j 1/2 log(2 pi e Var Z_j + 1), bounding H(Z')) or
"conditional_log_variance" (the same within each class, bounding the
residual H(Z'|Y)), and `model.surrogate_weight` gamma ("none" trains the
noisy network alone). Every epoch the information-plane callback estimates
I(X; Z') = H(Z') by the Gaussian mixture with the zero-entropy noise, and
the residual H(Z'|Y) (`residual_information`), on 10,000 training and
10,000 test examples: one mixture component per example, so at most
log 10,000 = 9.21 nats. Adam 1e-3, 10 epochs. The gammas of the results
page: configs/sweeps/surrogate.py.
"""

from infodropout_tf.training.config_schema import base_config


def get_config():
    config = base_config()
    config.experiment = "mnist_lenet_surrogate"
    config.dataset.name = "mnist"
    config.model.name = "lenet"
    config.model.noise = "zero_entropy"
    config.model.activation = "relu"
    config.model.weight_decay = 0.0
    config.model.surrogate = "log_variance"
    config.model.surrogate_weight = 0.01
    config.batch_size = 128
    config.num_epochs = 10
    config.optimizer.name = "adam"
    config.optimizer.learning_rate = 1e-3
    config.information_plane.enabled = True
    config.information_plane.layers = ("dropout",)
    config.information_plane.num_examples = 10_000
    return config
