"""What a config builds: its data splits, its model and its optimizer."""

import contextlib

import keras
import tensorflow as tf

from infodropout_tf import data
from infodropout_tf import models
from infodropout_tf.callbacks import BetaSchedule
from infodropout_tf.callbacks import cosine_schedule
from infodropout_tf.callbacks import linear_schedule
from infodropout_tf.information.plane import valid_estimators
from infodropout_tf.keras_utils import nested_layers
from infodropout_tf.keras_utils import network_of
from infodropout_tf.layers import kl_layers
from infodropout_tf.training.config import ConfigError
from infodropout_tf.training.config_schema import plane_estimators


def _data_options(config):
    # A report rereads config.json files of runs that predate
    # `dataset.download`; they are read with its default.
    return {"data_dir": config.dataset.data_dir or None,
            "download": config.dataset.get("download", True),
            **config.dataset.options.to_dict()}


def num_train_examples(config):
    """The size of the training split; checks the dataset fields on the way."""
    try:
        return data.num_examples(config.dataset.name, config.dataset.train_split,
                                 **_data_options(config))
    except ValueError as error:
        raise ConfigError(f"invalid config field in `dataset`: {error}") from error


def load_split(config, split, batch_size, training, **overrides):
    """Batches of `split`: shuffled and without a short last batch when training."""
    options = {"label_key": config.dataset.label_key, **_data_options(config), **overrides}
    if config.dataset.binarization == "static":  # else data.load's default: dynamic for train
        options.setdefault("binarization", "static")
    dataset = data.load(config.dataset.name, split, batch_size=batch_size, shuffle=training,
                        seed=config.seed, drop_remainder=training, **options)
    return _sharded(config, dataset)


def _sharded(config, dataset):
    if config.strategy == "multi_worker":
        sharding = tf.data.Options()
        sharding.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA)
        dataset = dataset.with_options(sharding)
    return dataset


def training_epochs(config, first_epoch, steps):
    """The training batches of epochs `first_epoch` to `num_epochs - 1`.

    Epoch k's batches depend on `config.seed` and k alone
    (`data.load_epochs`), so a run resumed at epoch k trains on the data
    the uninterrupted run would have.
    """
    dataset = data.load_epochs(
        config.dataset.name, config.dataset.train_split, first_epoch=first_epoch,
        num_epochs=config.num_epochs, steps_per_epoch=steps, batch_size=config.batch_size,
        seed=config.seed, label_key=config.dataset.label_key,
        binarization=config.dataset.binarization, **_data_options(config))
    return _sharded(config, dataset)


def recalibration_batches(config):
    """Training batches for the noise-free BatchNorm statistics, the same
    ones in the same order at every epoch (unshuffled; binarised once), so
    that the statistics do not depend on how often the data was read."""
    return load_split(config, config.dataset.train_split, config.batch_size, False,
                      binarization="static")


def steps_per_epoch(config, num_train):
    """Training steps per epoch; refuses a batch larger than the data."""
    if config.batch_size > num_train:
        raise ConfigError(
            f"invalid config field `batch_size`: {config.batch_size} is larger than the "
            f"{num_train} examples of {config.dataset.name}:{config.dataset.train_split}, so "
            f"no full batch exists; use at most {num_train}.")
    if config.steps_per_epoch > 0:
        return config.steps_per_epoch
    return num_train // config.batch_size


def model_config(config, num_train):
    """The `models.build` dict, with num_train_examples = -1 resolved."""
    model = config.model.to_dict()
    model.pop("beta_schedule", None)  # the trainer's callback, not the model's
    if model.get("surrogate", "none") == "none":
        # Only lenet and mlp take a surrogate; the other builders never see it.
        model.pop("surrogate", None)
        model.pop("surrogate_weight", None)
    if model.get("num_train_examples") == -1:
        model["num_train_examples"] = num_train
    if model["name"] != "vae":
        model.setdefault("seed", config.seed)
    return model


def make_optimizer(config, steps_per_epoch):
    """SGD (momentum, Nesterov) or Adam; the rate is multiplied by `decay`
    at each epoch of `boundaries`, or every `decay_every` epochs."""
    settings = config.optimizer
    learning_rate = settings.learning_rate
    if settings.boundaries:
        learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(
            [int(epoch * steps_per_epoch) for epoch in settings.boundaries],
            [settings.learning_rate * settings.decay**i
             for i in range(len(settings.boundaries) + 1)],
        )
    elif settings.decay_every:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            settings.learning_rate, decay_steps=settings.decay_every * steps_per_epoch,
            decay_rate=settings.decay, staircase=True)
    if settings.name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=settings.momentum,
                                    nesterov=settings.nesterov)
    return keras.optimizers.Adam(learning_rate, beta_1=settings.beta_1)


@contextlib.contextmanager
def dtype_policy(name):
    """Sets Keras's global dtype policy to `name` inside the block only.

    The policy is global to the process and read when a layer is created;
    the layers keep it afterwards, so it need only hold while the model is
    built, and the previous policy comes back even if building fails.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_model(config, strategy, num_train, steps, example_inputs):
    """The compiled model and its optimizer, built on `example_inputs`.

    The model is built under `config.dtype_policy` (variables float32,
    computations in float16 or bfloat16 for the mixed policies; the noise
    layers keep alpha, the noise and the KL in float32). Under
    `mixed_float16` Keras's `compile` wraps the optimizer in a
    `LossScaleOptimizer`.

    Raises:
        ConfigError: a layer named by the config is not in the model.
    """
    with dtype_policy(config.dtype_policy), strategy.scope():
        try:
            model = models.build(model_config(config, num_train))
        except (ValueError, TypeError) as error:
            raise ConfigError(f"invalid config field in `model`: {error}") from error
        model.compile(make_optimizer(config, steps), jit_compile=config.jit_compile)
        model(example_inputs)
        # Restoring a backup and replica updates need the optimizer's
        # variables, created here in the strategy's scope.
        model.optimizer.build(model.trainable_variables)
    network = network_of(model)
    if config.information_plane.enabled:
        names = {layer.name for layer in nested_layers(network)}
        for name in config.information_plane.layers:
            if name not in names:
                raise ConfigError(f"invalid config field `information_plane.layers`: the model "
                                  f"has no layer {name!r}; its layers are {sorted(names)}.")
        _check_plane_estimators(config.information_plane, network)
    if config.nuisance.enabled:
        check_nuisance_probe(config.nuisance, network)
    _check_beta_schedule(config.model.beta_schedule, model)
    return model


def check_nuisance_probe(nuisance, network):
    """The nuisance probe's layer exists, and a convolutional probe gets a
    (height, width, channels) map.

    Checked when the model is built, not after training, and again by the
    evaluation command, which may change the probe of a trained run, before
    it computes the main metrics. The probe reads a layer of the network's
    own graph, not one nested in a sub-model.
    """
    names = [layer.name for layer in network.layers]
    if nuisance.representation_layer not in names:
        raise ConfigError(f"invalid config field `nuisance.representation_layer`: the model has "
                          f"no layer {nuisance.representation_layer!r}; its layers are "
                          f"{sorted(names)}.")
    shape = network.get_layer(nuisance.representation_layer).output.shape
    if nuisance.probe == "conv" and len(shape) != 4:
        raise ConfigError(
            f"invalid config field `nuisance.probe`: 'conv' needs a (height, width, "
            f"channels) representation, and {nuisance.representation_layer!r} "
            f"outputs shape {tuple(shape[1:])}; use 'mlp'.")


def _check_beta_schedule(schedule, model):
    """A ramp of beta needs KL layers, and those it names must exist."""
    names = [layer.name for layer in kl_layers(model)]
    if not names and schedule.name != "constant":
        raise ConfigError(f"invalid config field `model.beta_schedule.name`: {schedule.name!r} "
                          "ramps beta, but the model has no KL layer; use \"constant\".")
    unknown = [name for name in schedule.layers if name not in names]
    if unknown:
        raise ConfigError(f"invalid config field `model.beta_schedule.layers`: {unknown} are not "
                          f"KL layers of the model; its KL layers are {sorted(names)}.")


def beta_schedule(config):
    """The `BetaSchedule` callback of `config.model.beta_schedule`, or None.

    "linear" and "cosine" ramp beta per epoch from `initial_beta` at epoch
    0 to `config.model.beta` at epoch `epochs`; "constant" leaves the
    layers' beta as built.
    """
    settings = config.model.beta_schedule
    if settings.name == "constant":
        return None
    ramp = {"linear": linear_schedule, "cosine": cosine_schedule}[settings.name]
    return BetaSchedule(ramp(settings.initial_beta, config.model.beta, settings.epochs),
                        layers=list(settings.layers) or None)


def _check_plane_estimators(plane, network):
    """Each `information_plane.estimators` entry names a followed layer and an
    estimator that holds for it (else the plane would fail at epoch 0)."""
    layers = {layer.name: layer for layer in nested_layers(network)}
    for name, estimator in plane_estimators(plane.estimators).items():
        entry = f"{name}:{estimator}"
        if name not in plane.layers:
            raise ConfigError(
                f"invalid config field `information_plane.estimators`: {entry!r} names a layer "
                f"missing from information_plane.layers {tuple(plane.layers)}; add it there.")
        valid = valid_estimators(layers[name])
        if estimator not in valid:
            raise ConfigError(
                f"invalid config field `information_plane.estimators`: {entry!r}: layer {name!r} "
                f"is a {type(layers[name]).__name__}, whose estimators are {list(valid)}.")
