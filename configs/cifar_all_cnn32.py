"""All-CNN-32 with information dropout on CIFAR-10 (paper section 8.1, Table 2).

The original cifar.py settings: batch 100, Nesterov momentum 0.9, learning
rate 0.05 divided by 10 at epochs 80, 120 and 160, 200 epochs, weight decay
0.001, beta 3, max_alpha 0.7, input keep probability 0.8, ReLU (log-uniform
prior; `--config.model.activation=softplus` for the log-normal prior).
"""

from infodropout_tf.training.config_schema import base_config


def get_config():
    config = base_config()
    config.experiment = "cifar_all_cnn32"
    config.dataset.name = "cifar10"
    config.model.name = "all_cnn_32"
    config.model.noise = "information"
    config.model.activation = "relu"
    config.model.filter_fraction = 1.0
    config.model.input_dropout_rate = 0.2
    config.model.weight_decay = 0.001
    config.model.max_alpha = 0.7
    config.model.beta = 3.0
    config.model.num_train_examples = -1
    config.model.dropout_rate = 0.5
    config.batch_size = 100
    config.num_epochs = 200
    config.optimizer.learning_rate = 0.05
    config.optimizer.boundaries = (80, 120, 160)
    return config
