"""Information dropout in the Deep Variational IB's setting (issue 30).

The encoder of `mnist_vib.py` (two hidden layers of 1024 units) with
information dropout on its last hidden layer instead of the Gaussian
latent, a linear softmax decoder, trained and tested as `mnist_vib.py`:
Adam at 1e-4 with beta1 = 0.5, the rate times 0.97 every 2 epochs, batch
100, 12 noisy passes averaged at evaluation.

Softplus units and the log-normal prior, so that the layer's KL is to a
proper (learned) prior r(z) and upper-bounds I(Z;X) in nats, as the VIB's
KL to N(0, I) does; the ReLU block's log-uniform prior is improper and
its KL is defined only up to a constant per unit. `num_train_examples`
is left unset in both configs, so both losses are cross-entropy + beta *
KL per example: beta here is the VIB's beta, and the paper's beta (KL
divided by the 60,000 training examples) is 60,000 times it.
"""

import pathlib

from infodropout_tf.training.config import from_file
from infodropout_tf.training.config_schema import base_config


def get_config():
    vib = from_file(pathlib.Path(__file__).with_name("mnist_vib.py"))
    config = base_config()
    # The VIB's data, schedule and evaluation; only the model differs.
    for section in ("dataset", "optimizer"):
        config[section] = vib[section]
    for field in ("batch_size", "num_epochs", "eval_num_samples"):
        config[field] = vib[field]
    config.experiment = "mnist_vib_information_dropout"
    config.model.name = "mlp"
    config.model.noise = "information"
    config.model.activation = "softplus"
    config.model.hidden_units = vib.model.hidden_units
    config.model.noisy_layers = "last"
    config.model.max_alpha = 0.7
    config.model.beta = vib.model.beta
    config.model.weight_decay = vib.model.weight_decay
    return config
