"""VAE on binarised MNIST with a Gaussian or information-dropout latent (paper Table 1).

512 hidden and 256 latent units (width multiplier k = 1), Bernoulli pixels,
dynamically binarised training images and a fixed binarisation of the test
set; Adam with learning rate 1e-3 divided by 10 at epochs 30 and 120, 300
epochs. `--config.model.latent=information_dropout` swaps the latent.
Reports the negative ELBO and the importance-weighted bound with k = 100.
`--config.dataset.binarization=static` binarises the training images once
instead of anew each epoch. `--config.model.beta` weights the KL
(beta-VAE), and `--config.model.beta_schedule.name=linear` warms it up from
`model.beta_schedule.initial_beta` over `model.beta_schedule.epochs` epochs.
"""

from infodropout_tf.training.config import base_config


def get_config():
    config = base_config()
    config.experiment = "mnist_vae"
    config.dataset.name = "binarized_mnist"
    config.model.name = "vae"
    config.model.latent = "gaussian"
    config.model.width_multiplier = 1
    config.model.hidden_layers = 1
    config.model.max_alpha = 1.0
    config.model.beta = 1.0  # the ELBO; other values give the beta-VAE
    config.batch_size = 100
    config.num_epochs = 300
    config.optimizer.name = "adam"
    config.optimizer.learning_rate = 1e-3
    config.optimizer.boundaries = (30, 120)
    config.recalibrate_batch_norm_steps = 0
    return config
