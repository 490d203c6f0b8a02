"""All-CNN-96 with information dropout on Cluttered MNIST (paper section 8.2, Fig. 2).

The original cluttered.py settings: batch 128, momentum 0.9 (Nesterov),
learning rate 0.01 divided by 10 at epochs 30 and 60, 80 epochs, beta 0.5,
max_alpha 1.0, no weight decay, ReLU. The data are 96x96 images with 21
distractors, 50,000 / 10,000 examples (`python -m infodropout_tf.data
prepare cluttered_mnist` first).
"""

from infodropout_tf.training.config_schema import base_config


def get_config():
    config = base_config()
    config.experiment = "cluttered_all_cnn96"
    config.dataset.name = "cluttered_mnist"
    config.dataset.options.image_size = 96
    config.dataset.options.num_distractors = 21
    config.dataset.options.generation_seed = 0
    config.dataset.options.num_train = 50_000
    config.dataset.options.num_test = 10_000
    config.model.name = "all_cnn_96"
    config.model.noise = "information"
    config.model.activation = "relu"
    config.model.filter_fraction = 1.0
    config.model.weight_decay = 0.0
    config.model.max_alpha = 1.0
    config.model.beta = 0.5
    config.model.num_train_examples = -1
    config.model.dropout_rate = 0.5
    config.batch_size = 128
    config.num_epochs = 80
    config.optimizer.learning_rate = 0.01
    config.optimizer.boundaries = (30, 60)
    return config
