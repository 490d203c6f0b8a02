"""The fully connected network on MNIST (paper Fig. 3a).

Three hidden layers of `model.width` units (the paper sweeps 64 to 1024),
each followed by the dropout block; learning rate 0.07 divided by 10 at
epochs 30 and 70, 80 epochs, Nesterov momentum 0.9. Compare the noises with
`--config.model.noise=binary|gaussian|constant_lognormal|none`.
"""

from infodropout_tf.training.config_schema import base_config


def get_config():
    config = base_config()
    config.experiment = "mnist_mlp"
    config.dataset.name = "mnist"
    config.model.name = "mlp"
    config.model.noise = "information"
    config.model.activation = "relu"
    config.model.width = 1024
    config.model.depth = 3
    config.model.weight_decay = 0.0
    config.model.max_alpha = 0.7
    config.model.beta = 3.0
    config.model.num_train_examples = -1
    config.model.dropout_rate = 0.5
    config.batch_size = 100
    config.num_epochs = 80
    config.optimizer.learning_rate = 0.07
    config.optimizer.boundaries = (30, 70)
    return config
