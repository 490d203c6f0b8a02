"""The fields of an experiment config: each one's default, range and meaning.

`FIELDS` is the one table of them: `base_config()` is built from its
defaults and `validate` from its ranges, so a new field is one entry.
Config files under `configs/` call `base_config()` and override what their
experiment needs; on the command line any field can be overridden,
`--config.optimizer.learning_rate=0.01`, and a misspelt or wrongly typed
field is an error (ml_collections' type-safe ConfigDict). Every field is
checked before anything is built or written; the model's other arguments
are checked by `models.build` and dataset options by `data`, both also
before anything is written.
"""

import copy
import math
from typing import Callable, NamedTuple, Optional

import ml_collections

from infodropout_tf.data import DATASETS
from infodropout_tf.information.plane import ESTIMATORS
from infodropout_tf.surrogates import SURROGATES
from infodropout_tf.training.config import ConfigError
from infodropout_tf.training.config_diff import flatten
from infodropout_tf.training.strategies import STRATEGIES


class Range(NamedTuple):
    """A field's check, and the words an error uses for what it accepts."""
    check: Callable[[object], bool]
    expected: str


class Field(NamedTuple):
    """One config field.

    Attributes:
        default: Its value in `base_config()`, or `MODEL_DEFAULT` for a
            model argument that only some models take.
        range: The `Range` `validate` checks, or None for a field checked
            where it is used (`models.build`, `data`).
        meaning: One line for the reader of this table.
    """
    default: object
    range: Optional[Range]
    meaning: str


# A model argument absent from `base_config()`: each model builder has its
# own default, and the field is checked only when a config sets it.
MODEL_DEFAULT = "<the model builder's default>"

# Keras dtype policies a config may ask for: the variables stay float32.
DTYPE_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")

# `model.beta_schedule.name`: the layers' beta, or a ramp to it.
BETA_SCHEDULES = ("constant", "linear", "cosine")

# Upper bounds of the fields that size memory: beyond them a run would fail
# deep inside TensorFlow (an allocation of many GiB) instead of with a line
# naming the field. They leave room far above the paper's experiments.
# `keras.utils.set_random_seed` seeds numpy, whose seeds are below 2**32.
MAX_SEED = 2**32 - 1
# Examples in a batch: more than any training split here (60000).
MAX_BATCH_SIZE = 65536
# Units of a dense layer: an 8192 x 8192 float32 kernel is 256 MiB, before
# its gradient and optimizer slots; the paper's widest MLP has 1024.
MAX_UNITS = 8192
# The VAE's k (512k hidden, 256k latent units; Table 1 has k <= 3).
MAX_WIDTH_MULTIPLIER = MAX_UNITS // 512
# Dense layers stacked in one network.
MAX_LAYERS = 64
# Examples held and pushed through the model at once by the analyses (the
# size of the MNIST and CIFAR-10 test splits); the information plane's
# estimators compare every pair of them.
MAX_ANALYSIS_EXAMPLES = 10000
# Importance samples k of the VAE's bound: its decoder reads k x 100
# latents at once; 5000 is Burda et al.'s k.
MAX_IWAE_SAMPLES = 5000
# Noisy passes averaged per test example.
MAX_EVAL_SAMPLES = 1000
MAX_BINS = 1000


def _is_number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _is_integer(value):
    return not isinstance(value, bool) and isinstance(value, int)


def _integer(minimum, allow_minus_one=False, maximum=None):
    def check(value):
        if not _is_integer(value):
            return False
        in_range = value >= minimum and (maximum is None or value <= maximum)
        return in_range or (allow_minus_one and value == -1)

    extra = " or -1" if allow_minus_one else ""
    if maximum is None:
        return Range(check, f"an integer >= {minimum}{extra}")
    return Range(check, f"an integer in [{minimum}, {maximum}]{extra}")


def _integers(minimum, maximum):
    return Range(lambda v: isinstance(v, (list, tuple)) and all(
        _is_integer(n) and minimum <= n <= maximum for n in v),
        f"a tuple of integers in [{minimum}, {maximum}]")


def _positive_number():
    return Range(lambda v: _is_number(v) and math.isfinite(v) and v > 0, "a finite number > 0")


def _non_negative_number():
    return Range(lambda v: _is_number(v) and math.isfinite(v) and v >= 0, "a finite number >= 0")


def _one_of(choices):
    return Range(lambda v: v in choices, f"one of {list(choices)}")


def _boolean():
    return Range(lambda v: isinstance(v, bool), "True or False")


def _text(non_empty=True):
    return Range(lambda v: isinstance(v, str) and (v != "" or not non_empty),
                 "a non-empty string" if non_empty else "a string")


def _increasing_epochs(value):
    values = list(value) if isinstance(value, (list, tuple)) else None
    return values is not None and all(
        _is_number(v) and math.isfinite(v) and v > 0 for v in values) and all(
        a < b for a, b in zip(values, values[1:]))


def _names(value, non_empty):
    return isinstance(value, (list, tuple)) and (len(value) > 0 or not non_empty) and all(
        isinstance(v, str) and v for v in value)


def plane_estimators(entries):
    """{layer: estimator} of `information_plane.estimators`'s "layer:estimator"
    strings (a Keras layer name may hold a colon, an estimator's never does)."""
    return dict(entry.rsplit(":", 1) for entry in entries)


def _estimator_choices(value):
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, str) and ":" in v for v in value):
        return False
    pairs = plane_estimators(value)
    return len(pairs) == len(value) and all(
        layer and estimator in ESTIMATORS for layer, estimator in pairs.items())


FIELDS = {
    "experiment": Field("experiment", _text(), "the experiment's name"),

    # Data (`infodropout_tf.data.load`).
    "dataset.name": Field("mnist", _one_of(DATASETS), "tensorflow-datasets name"),
    "dataset.data_dir": Field("", _text(non_empty=False),
                              "tfds folder; empty: $TFDS_DATA_DIR, then ~/tensorflow_datasets"),
    # A dataset tensorflow-datasets can fetch and that is not prepared in
    # the data directory is downloaded there, as `tfds.load` does, unless
    # this is False (offline clusters: prepare it first, docs/data.md).
    "dataset.download": Field(True, _boolean(), "download a missing tfds dataset"),
    "dataset.train_split": Field("train", _text(), "tfds split trained on"),
    "dataset.test_split": Field("test", _text(), "tfds split evaluated on"),
    "dataset.label_key": Field("label", _text(), "feature holding the label"),
    # binarized_mnist: "dynamic" draws the training images' pixels anew each
    # epoch, "static" binarises every split once with the config's seed (the
    # test split is always static).
    "dataset.binarization": Field("dynamic", _one_of(("dynamic", "static")),
                                  "binarized_mnist's training images: anew each epoch or once"),
    "dataset.options": Field(ml_collections.ConfigDict(), None,
                             "generation options of cluttered_mnist / occluded_cifar10 "
                             "(checked by `data`)"),

    # Model (`infodropout_tf.models.build`, which checks the arguments not
    # listed here).
    "model.name": Field("mlp", None, "a model of `models.MODELS` (checked by `models.build`)"),
    # KL warm-up (`callbacks.BetaSchedule`, per epoch; not passed to
    # `models.build`): "constant" keeps the layers' beta; "linear" or
    # "cosine" ramp it from `initial_beta` at epoch 0 to `model.beta` at
    # epoch `epochs` (and keep it there).
    "model.beta_schedule.name": Field("constant", _one_of(BETA_SCHEDULES),
                                      "beta kept, or ramped to `model.beta`"),
    "model.beta_schedule.initial_beta": Field(0.0, _non_negative_number(),
                                              "beta at epoch 0 of a ramp"),
    "model.beta_schedule.epochs": Field(10, _integer(1), "epochs the ramp lasts"),
    "model.beta_schedule.layers": Field(
        (), Range(lambda v: _names(v, non_empty=False), "a tuple of KL layer names, () for all"),
        "KL layers whose beta is ramped"),
    # Kirsch, Lyle & Gal's penalty (`infodropout_tf.surrogates`) on the
    # representation the last dropout block receives (lenet, mlp; see
    # `models.Classifier`); "none" is not passed to `models.build`. Pair it
    # with model.noise = "zero_entropy".
    "model.surrogate": Field("none", _one_of(SURROGATES), "surrogate IB penalty, or none"),
    "model.surrogate_weight": Field(0.0, _non_negative_number(),
                                    "the surrogate penalty's weight gamma"),
    # The model arguments that size memory, checked when the config sets
    # them (each model takes its own).
    "model.width": Field(MODEL_DEFAULT, _integer(1, maximum=MAX_UNITS), "units per layer"),
    "model.depth": Field(MODEL_DEFAULT, _integer(1, maximum=MAX_LAYERS), "hidden layers"),
    "model.hidden_units": Field(MODEL_DEFAULT, _integers(1, MAX_UNITS),
                                "units of each hidden layer"),
    "model.latent_dim": Field(MODEL_DEFAULT, _integer(1, maximum=MAX_UNITS),
                              "units of the latent"),
    "model.width_multiplier": Field(MODEL_DEFAULT, _integer(1, maximum=MAX_WIDTH_MULTIPLIER),
                                    "the VAE's k: 512k hidden, 256k latent units"),
    "model.hidden_layers": Field(MODEL_DEFAULT, _integer(1, maximum=MAX_LAYERS),
                                 "the VAE's hidden layers per network"),

    # Optimisation. The learning rate is multiplied by `decay` at each
    # epoch in `boundaries`, as the original's drop1 / drop2 / drop3.
    "batch_size": Field(128, _integer(1, maximum=MAX_BATCH_SIZE),
                        "examples per step, split across replicas"),
    "num_epochs": Field(10, _integer(1), "epochs trained"),
    "steps_per_epoch": Field(-1, _integer(1, allow_minus_one=True),
                             "-1: a whole pass over the training split"),
    "eval_steps": Field(-1, _integer(1, allow_minus_one=True), "-1: the whole test split"),
    "optimizer.name": Field("sgd", _one_of(("sgd", "adam")), "sgd (momentum, Nesterov) or adam"),
    "optimizer.learning_rate": Field(0.01, _positive_number(), "the initial learning rate"),
    "optimizer.momentum": Field(0.9, Range(lambda v: _is_number(v) and 0 <= v < 1,
                                           "a number in [0, 1)"), "sgd's momentum"),
    "optimizer.nesterov": Field(True, _boolean(), "sgd's Nesterov momentum"),
    "optimizer.boundaries": Field((), Range(_increasing_epochs,
                                            "increasing positive epochs, e.g. (30, 60)"),
                                  "epochs at which the learning rate decays"),
    "optimizer.decay": Field(0.1, _positive_number(), "factor of each decay"),
    # Alemi et al.'s VIB schedule: the rate times 0.97 every 2 epochs
    # (decay_every = 2, decay = 0.97); 0 keeps only `boundaries`.
    "optimizer.decay_every": Field(0, _integer(0), "epochs between decays; 0: none"),
    "optimizer.beta_1": Field(0.9, Range(lambda v: _is_number(v) and 0 <= v < 1,
                                         "a number in [0, 1)"), "adam's first-moment decay"),
    # Precision and XLA, for every strategy (README "Precision and XLA").
    "dtype_policy": Field("float32", _one_of(DTYPE_POLICIES),
                          "the Keras dtype policy the model is built under"),
    "jit_compile": Field(False, _boolean(), "XLA compilation of the train step"),
    "seed": Field(0, _integer(0, maximum=MAX_SEED), "seeds weights, noise and data order"),

    # Distribution.
    "strategy": Field("default", _one_of(STRATEGIES), "the tf.distribute strategy"),
    "tpu": Field("", _text(non_empty=False), "TPU address for the tpu strategy"),

    # Checkpoints, evaluation and summaries.
    "checkpoint_every_epochs": Field(1, _integer(0), "epochs between kept checkpoints"),
    "recalibrate_batch_norm_steps": Field(
        100, _integer(0), "training batches of the noise-free BatchNorm statistics; 0 disables"),
    "eval_num_samples": Field(10, _integer(1, maximum=MAX_EVAL_SAMPLES),
                              "noisy passes averaged at evaluation"),
    "summaries.num_heatmap_examples": Field(4, _integer(1, maximum=MAX_ANALYSIS_EXAMPLES),
                                            "examples of the KL heatmaps"),
    "summaries.num_analysis_examples": Field(512, _integer(2, maximum=MAX_ANALYSIS_EXAMPLES),
                                             "examples of the noise layers' analysis"),
    "information_plane.enabled": Field(False, _boolean(), "estimate the information plane"),
    "information_plane.layers": Field(
        ("dropout",), Range(lambda v: _names(v, non_empty=True),
                            "a non-empty tuple of layer names"), "layers placed on the plane"),
    "information_plane.every": Field(1, _integer(1), "epochs between estimates"),
    "information_plane.num_examples": Field(1000, _integer(2, maximum=MAX_ANALYSIS_EXAMPLES),
                                            "examples of each estimate"),
    "information_plane.num_bins": Field(30, _integer(2, maximum=MAX_BINS),
                                        "bins of the binning estimator"),
    # I(X;Z) estimator per layer, "layer:estimator" (estimators of
    # information/plane.py), e.g. ("dense2:mine",); layers not named get
    # theirs by type.
    "information_plane.estimators": Field(
        (), Range(_estimator_choices,
                  'a tuple of "layer:estimator" strings, one per layer, each estimator '
                  f'one of {list(ESTIMATORS)}, e.g. ("dropout:mine",)'),
        "I(X;Z) estimator of named layers"),
    "information_plane.mine_steps": Field(200, _integer(1), "MINE's steps per layer"),
    # Occluded CIFAR: a classifier of the nuisance (the occluding digit) on
    # the representation.
    "nuisance.enabled": Field(False, _boolean(), "train the nuisance classifier"),
    "nuisance.epochs": Field(5, _integer(1), "its epochs"),
    "nuisance.representation_layer": Field("head_conv2_relu", _text(),
                                           "the layer whose output it reads"),
    # "mlp": Dense 256 on the flattened representation; "conv": two 3x3
    # convolutions of 64 channels and a global max before it, for a spatial
    # map (it finds a digit anywhere).
    "nuisance.probe": Field("mlp", _one_of(("mlp", "conv")), "the nuisance classifier"),
    "iwae_samples": Field(100, _integer(1, maximum=MAX_IWAE_SAMPLES),
                          "VAE: k of the importance-weighted bound"),
    "iwae_examples": Field(1000, _integer(1, maximum=MAX_ANALYSIS_EXAMPLES),
                           "VAE: test examples the bound is estimated on"),
}


def base_config():
    """The config every experiment starts from: `FIELDS`' defaults."""
    config = ml_collections.ConfigDict()
    for name, field in FIELDS.items():
        if field.default is MODEL_DEFAULT:
            continue
        *groups, leaf = name.split(".")
        parent = config
        for group in groups:
            if group not in parent:
                parent[group] = ml_collections.ConfigDict()
            parent = parent[group]
        parent[leaf] = copy.deepcopy(field.default)
    return config


def validate(config):
    """Checks every field against its range in `FIELDS` (a model argument
    only when the config sets it).

    Raises:
        ConfigError: a field of `base_config()` is missing, or naming the
            first bad field, its value and its range.
    """
    flat = flatten(config)
    checked = [(name, field) for name, field in FIELDS.items() if field.range is not None]
    for name, field in checked:
        if field.default is not MODEL_DEFAULT and name not in flat:
            raise ConfigError(f"config field `{name}` is missing; start the config from "
                              "base_config() in infodropout_tf/training/config_schema.py.")
    for name, field in checked:
        if name in flat and not field.range.check(flat[name]):
            raise ConfigError(f"invalid config field `{name}`: expected {field.range.expected}, "
                              f"received {flat[name]!r}.")
    if flat["model.beta_schedule.name"] != "constant" and "model.beta" not in flat:
        raise ConfigError(
            f"config field `model.beta_schedule.name` is "
            f"{flat['model.beta_schedule.name']!r}, a ramp to `model.beta`, which this config "
            "does not set; set config.model.beta in the config file.")
    if flat["optimizer.decay_every"] and flat["optimizer.boundaries"]:
        raise ConfigError(
            "config fields `optimizer.decay_every` and `optimizer.boundaries` are both set; "
            "decay the learning rate either every few epochs or at given epochs, not both.")
