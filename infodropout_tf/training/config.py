"""The defaults every experiment config starts from.

Config files under `configs/` call `base_config()` and override what their
experiment needs; on the command line any field can be overridden,
`--config.optimizer.learning_rate=0.01`, and a misspelt or wrongly typed
field is an error (ml_collections' type-safe ConfigDict).
"""

import importlib.util
import os

import ml_collections


def base_config():
    config = ml_collections.ConfigDict()
    config.experiment = "experiment"

    # Data (`infodropout_tf.data.load`). An empty data_dir means
    # $TFDS_DATA_DIR, then ~/tensorflow_datasets.
    config.dataset = ml_collections.ConfigDict()
    config.dataset.name = "mnist"
    config.dataset.data_dir = ""
    config.dataset.train_split = "train"
    config.dataset.test_split = "test"
    config.dataset.label_key = "label"
    # Generation options of cluttered_mnist / occluded_cifar10.
    config.dataset.options = ml_collections.ConfigDict()

    # Model (`infodropout_tf.models.build`). num_train_examples = -1 means
    # the size of the training split, the N of the loss.
    config.model = ml_collections.ConfigDict()
    config.model.name = "mlp"

    # Optimisation. Learning rate multiplied by `decay` at each epoch in
    # `boundaries`, as the original's drop1 / drop2 / drop3.
    config.batch_size = 128  # global: split across replicas
    config.num_epochs = 10
    config.steps_per_epoch = -1  # -1: a whole pass over the training split
    config.eval_steps = -1  # -1: the whole test split
    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.name = "sgd"  # sgd (momentum / Nesterov) or adam
    config.optimizer.learning_rate = 0.01
    config.optimizer.momentum = 0.9
    config.optimizer.nesterov = True
    config.optimizer.boundaries = ()
    config.optimizer.decay = 0.1
    config.jit_compile = False
    config.seed = 0

    # Distribution: default | one_device | mirrored | multi_worker | tpu.
    config.strategy = "default"
    config.tpu = ""  # TPU address for the tpu strategy

    # Checkpoints, evaluation and summaries.
    config.checkpoint_every_epochs = 1
    config.recalibrate_batch_norm_steps = 100  # training batches; 0 disables
    config.eval_num_samples = 10  # noisy passes averaged at evaluation
    config.summaries = ml_collections.ConfigDict()
    config.summaries.num_heatmap_examples = 4
    config.summaries.num_analysis_examples = 512
    config.information_plane = ml_collections.ConfigDict()
    config.information_plane.enabled = False
    config.information_plane.layers = ("dropout",)
    config.information_plane.every = 1
    config.information_plane.num_examples = 1000
    config.information_plane.num_bins = 30
    config.nuisance = ml_collections.ConfigDict()
    config.nuisance.enabled = False  # Occluded CIFAR: digit classifier on the representation
    config.nuisance.epochs = 5
    config.nuisance.representation_layer = "head_conv2_relu"
    config.iwae_samples = 100  # VAE: k of the importance-weighted bound
    config.iwae_examples = 1000  # VAE: test examples it is estimated on
    return config


def from_file(path):
    """The `get_config()` of another config file, for configs built on it."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def testing_overrides(config):
    """Shrinks any experiment config to a smoke test of a few steps."""
    config.num_epochs = 2
    config.steps_per_epoch = 3
    config.eval_steps = 2
    config.batch_size = 16
    config.recalibrate_batch_norm_steps = 2
    config.eval_num_samples = 2
    config.summaries.num_heatmap_examples = 2
    config.summaries.num_analysis_examples = 128  # > units, for the total correlation
    config.information_plane.num_examples = 64
    config.nuisance.epochs = 1
    config.iwae_samples = 3
    config.iwae_examples = 16
    return config
