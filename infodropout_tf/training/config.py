"""The defaults every experiment config starts from.

Config files under `configs/` call `base_config()` and override what their
experiment needs; on the command line any field can be overridden,
`--config.optimizer.learning_rate=0.01`, and a misspelt or wrongly typed
field is an error (ml_collections' type-safe ConfigDict).
"""

import difflib
import importlib.util
import inspect
import json
import math
import os

import ml_collections

from infodropout_tf import models
from infodropout_tf.data import DATASETS
from infodropout_tf.information.plane import ESTIMATORS
from infodropout_tf.surrogates import SURROGATES
from infodropout_tf.training.strategies import STRATEGIES


# Keras dtype policies a config may ask for: the variables stay float32.
DTYPE_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


class ConfigError(ValueError):
    """A config file or field is unusable; nothing has been written."""


# `model.beta_schedule.name`: the layers' beta, or a ramp to it.
BETA_SCHEDULES = ("constant", "linear", "cosine")


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
    # binarized_mnist: "dynamic" draws the training images' pixels anew each
    # epoch, "static" binarises every split once with the config's seed (the
    # test split is always static).
    config.dataset.binarization = "dynamic"
    # Generation options of cluttered_mnist / occluded_cifar10.
    config.dataset.options = ml_collections.ConfigDict()

    # Model (`infodropout_tf.models.build`). num_train_examples = -1 means
    # the size of the training split, the N of the loss.
    config.model = ml_collections.ConfigDict()
    config.model.name = "mlp"
    # KL warm-up (`callbacks.BetaSchedule`, per epoch; not passed to
    # `models.build`): "constant" keeps the layers' beta; "linear" or
    # "cosine" ramp it from `initial_beta` at epoch 0 to `model.beta` at
    # epoch `epochs` (and keep it there), on the KL layers named in
    # `layers`, () for all of them.
    config.model.beta_schedule = ml_collections.ConfigDict()
    config.model.beta_schedule.name = "constant"
    config.model.beta_schedule.initial_beta = 0.0
    config.model.beta_schedule.epochs = 10
    config.model.beta_schedule.layers = ()
    # Surrogate information-bottleneck penalty of Kirsch, Lyle & Gal
    # (`infodropout_tf.surrogates`) on the representation the last dropout
    # block receives (lenet, mlp; see `models.Classifier`), with weight
    # gamma: "none" (not passed to
    # `models.build`), "squared_norm", "log_variance" or
    # "conditional_log_variance". Pair it with model.noise = "zero_entropy".
    config.model.surrogate = "none"
    config.model.surrogate_weight = 0.0

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
    # Precision and XLA, for every strategy (README "Precision and XLA"):
    # the Keras dtype policy the model is built under (float32,
    # mixed_float16, mixed_bfloat16) and XLA compilation of the train step.
    config.dtype_policy = "float32"
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
    # I(X;Z) estimator per layer, "layer:estimator" (estimators of
    # information/plane.py: closed_form_kl, gaussian_mixture, binning,
    # mine), e.g. ("dense2:mine",); layers not named get theirs by type.
    config.information_plane.estimators = ()
    config.information_plane.mine_steps = 200  # per layer, split and estimate
    config.nuisance = ml_collections.ConfigDict()
    config.nuisance.enabled = False  # Occluded CIFAR: digit classifier on the representation
    config.nuisance.epochs = 5
    config.nuisance.representation_layer = "head_conv2_relu"
    # The classifier of the nuisance: "mlp" (Dense 256 on the flattened
    # representation) or "conv" (two 3x3 convolutions of 64 channels and a
    # global max before it, for a spatial map: it finds a digit anywhere).
    config.nuisance.probe = "mlp"
    config.iwae_samples = 100  # VAE: k of the importance-weighted bound
    config.iwae_examples = 1000  # VAE: test examples it is estimated on
    return config


def from_file(path):
    """The `get_config()` of a config file (also for configs built on another).

    Raises:
        ConfigError: the file is missing, does not run, or has no
            `get_config()` returning a ConfigDict.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path} does not exist; pass a packaged config's name "
                          "(--config=mnist_mlp, see the README's table of configs) or the path "
                          "of a config file.")
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        config = module.get_config()
    except ConfigError:
        raise
    except Exception as error:  # a config file is user code: any error is its own
        where = f" (line {error.lineno})" if isinstance(error, SyntaxError) else ""
        raise ConfigError(f"config file {path} failed to load{where}: "
                          f"{type(error).__name__}: {error}") from error
    if not isinstance(config, ml_collections.ConfigDict):
        raise ConfigError(f"config file {path}: get_config() must return an "
                          f"ml_collections.ConfigDict, not {type(config).__name__}.")
    return config


# setup.cfg installs the repository's configs/ as this subpackage; an
# editable install reads the checkout's configs/ in place.
PACKAGED_CONFIGS = "infodropout_tf.configs"


def packaged_configs_dir():
    """The folder of the configs installed with the package.

    It is the repository's top-level `configs/` (also holding `sweeps/`),
    installed as the subpackage `infodropout_tf.configs`.

    Raises:
        ConfigError: the package was installed without its configs.
    """
    spec = importlib.util.find_spec(PACKAGED_CONFIGS)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"{PACKAGED_CONFIGS} is not installed; reinstall the package "
                          "(pip install . or pip install -e . in a checkout) or pass the path "
                          "of a config file.")
    return list(spec.submodule_search_locations)[0]


def packaged_config_names():
    """The names `--config=<name>` accepts: the packaged config files, sorted."""
    return sorted(name[:-len(".py")] for name in os.listdir(packaged_configs_dir())
                  if name.endswith(".py") and not name.startswith("_"))


def resolve(config):
    """The config file `--config=<config>` means.

    A value that ends in `.py` or holds a path separator is a file,
    returned as it is (`configs/mnist_mlp.py`); any other value is the name
    of a packaged config (`mnist_mlp`), so the commands run the paper's
    experiments wherever the package is installed.

    Raises:
        ConfigError: no packaged config has that name; the message lists
            those that exist.
    """
    if config.endswith(".py") or "/" in config or os.sep in config:
        return config
    names = packaged_config_names()
    if config not in names:
        raise ConfigError(f"unknown config `{config}`.{did_you_mean(names, config)} "
                          f"The packaged configs are: "
                          f"{', '.join(names)}; or pass the path of a config file, "
                          "--config=path/to/config.py.")
    return os.path.join(packaged_configs_dir(), f"{config}.py")


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


# Validation ---------------------------------------------------------------------
#
# Every field of `base_config` has a range, checked before anything is
# built or written. Model fields are checked by `models.build` and dataset
# options by `data`, both also before anything is written.


def _integer(minimum, allow_minus_one=False, maximum=None):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        in_range = value >= minimum and (maximum is None or value <= maximum)
        return in_range or (allow_minus_one and value == -1)

    extra = " or -1" if allow_minus_one else ""
    if maximum is None:
        return check, f"an integer >= {minimum}{extra}"
    return check, f"an integer in [{minimum}, {maximum}]{extra}"


def _integers(minimum, maximum):
    def check(value):
        return isinstance(value, (list, tuple)) and all(
            not isinstance(v, bool) and isinstance(v, int) and minimum <= v <= maximum
            for v in value)

    return check, f"a tuple of integers in [{minimum}, {maximum}]"


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


def _positive_float():
    return (lambda v: not isinstance(v, bool) and isinstance(v, (int, float))
            and math.isfinite(v) and v > 0), "a finite number > 0"


def _one_of(choices):
    return (lambda v: v in choices), f"one of {list(choices)}"


def _boolean():
    return (lambda v: isinstance(v, bool)), "True or False"


def _text(non_empty=True):
    return ((lambda v: isinstance(v, str) and (v != "" or not non_empty)),
            "a non-empty string" if non_empty else "a string")


def _increasing_epochs(value):
    values = list(value) if isinstance(value, (list, tuple)) else None
    return values is not None and all(
        not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) and v > 0
        for v in values) and all(a < b for a, b in zip(values, values[1:]))


def _layer_names(value):
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
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


RANGES = {
    "experiment": _text(),
    "dataset.name": _one_of(DATASETS),
    "dataset.data_dir": _text(non_empty=False),
    "dataset.train_split": _text(),
    "dataset.test_split": _text(),
    "dataset.label_key": _text(),
    "dataset.binarization": _one_of(("dynamic", "static")),
    "batch_size": _integer(1, maximum=MAX_BATCH_SIZE),
    "num_epochs": _integer(1),
    "steps_per_epoch": _integer(1, allow_minus_one=True),
    "eval_steps": _integer(1, allow_minus_one=True),
    "optimizer.name": _one_of(("sgd", "adam")),
    "optimizer.learning_rate": _positive_float(),
    "optimizer.momentum": ((lambda v: not isinstance(v, bool) and isinstance(v, (int, float))
                            and 0 <= v < 1), "a number in [0, 1)"),
    "optimizer.nesterov": _boolean(),
    "optimizer.boundaries": (_increasing_epochs, "increasing positive epochs, e.g. (30, 60)"),
    "optimizer.decay": _positive_float(),
    "dtype_policy": _one_of(DTYPE_POLICIES),
    "jit_compile": _boolean(),
    "seed": _integer(0, maximum=MAX_SEED),
    "strategy": _one_of(STRATEGIES),
    "tpu": _text(non_empty=False),
    "checkpoint_every_epochs": _integer(0),
    "recalibrate_batch_norm_steps": _integer(0),
    "eval_num_samples": _integer(1, maximum=MAX_EVAL_SAMPLES),
    "summaries.num_heatmap_examples": _integer(1, maximum=MAX_ANALYSIS_EXAMPLES),
    "summaries.num_analysis_examples": _integer(2, maximum=MAX_ANALYSIS_EXAMPLES),
    "information_plane.enabled": _boolean(),
    "information_plane.layers": (_layer_names, "a non-empty tuple of layer names"),
    "information_plane.every": _integer(1),
    "information_plane.num_examples": _integer(2, maximum=MAX_ANALYSIS_EXAMPLES),
    "information_plane.num_bins": _integer(2, maximum=MAX_BINS),
    "information_plane.estimators": (
        _estimator_choices, 'a tuple of "layer:estimator" strings, one per layer, each estimator '
        f'one of {list(ESTIMATORS)}, e.g. ("dropout:mine",)'),
    "information_plane.mine_steps": _integer(1),
    "nuisance.enabled": _boolean(),
    "nuisance.epochs": _integer(1),
    "nuisance.representation_layer": _text(),
    "nuisance.probe": _one_of(("mlp", "conv")),
    "iwae_samples": _integer(1, maximum=MAX_IWAE_SAMPLES),
    "iwae_examples": _integer(1, maximum=MAX_ANALYSIS_EXAMPLES),
    "model.beta_schedule.name": _one_of(BETA_SCHEDULES),
    "model.beta_schedule.initial_beta": (
        lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
        and v >= 0, "a finite number >= 0"),
    "model.beta_schedule.epochs": _integer(1),
    "model.beta_schedule.layers": (
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(n, str) and n for n in v),
        "a tuple of KL layer names, () for all"),
    "model.surrogate": _one_of(SURROGATES),
    "model.surrogate_weight": (
        lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
        and v >= 0, "a finite number >= 0"),
}


# The model's fields that size memory, checked when the config sets them
# (each model takes its own; `models.build` checks the rest of them).
MODEL_RANGES = {
    "model.width": _integer(1, maximum=MAX_UNITS),
    "model.depth": _integer(1, maximum=MAX_LAYERS),
    "model.hidden_units": _integers(1, MAX_UNITS),
    "model.latent_dim": _integer(1, maximum=MAX_UNITS),
    "model.width_multiplier": _integer(1, maximum=MAX_WIDTH_MULTIPLIER),
    "model.hidden_layers": _integer(1, maximum=MAX_LAYERS),
}


def flatten(config):
    """{"a.b": value} for a ConfigDict or dict, tuples as lists (as in JSON)."""
    values = json.loads(config.to_json()) if hasattr(config, "to_json") else config
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update({f"{key}.{k}": v for k, v in flatten(value).items()})
        else:
            flat[key] = value
    return flat


def validate(config):
    """Checks every field against its range (`RANGES`, and `MODEL_RANGES` for
    the model fields the config has).

    Raises:
        ConfigError: naming the first bad field, its value and its range.
    """
    flat = flatten(config)
    for field, (check, expected) in RANGES.items():
        if field not in flat:
            raise ConfigError(f"config field `{field}` is missing; start the config from "
                              "base_config() in infodropout_tf/training/config.py.")
    for field, (check, expected) in [*RANGES.items(), *MODEL_RANGES.items()]:
        if field in flat and not check(flat[field]):
            raise ConfigError(f"invalid config field `{field}`: expected {expected}, "
                              f"received {flat[field]!r}.")
    if flat["model.beta_schedule.name"] != "constant" and "model.beta" not in flat:
        raise ConfigError(
            f"config field `model.beta_schedule.name` is "
            f"{flat['model.beta_schedule.name']!r}, a ramp to `model.beta`, which this config "
            "does not set; set config.model.beta in the config file.")


def implicit_values(config):
    """{field: value} a run had for the fields its config did not hold.

    `base_config()`'s values, and for `model.<argument>` the default of that
    argument of the config's model builder (`models.MODELS`): what
    `models.build` uses when the field is absent.
    """
    values = flatten(base_config())
    builder = models.MODELS.get(flatten(config).get("model.name"))
    if builder is not None:
        for name, parameter in inspect.signature(builder).parameters.items():
            if parameter.default is not parameter.empty:
                # As stored in JSON: tuples become lists.
                values[f"model.{name}"] = json.loads(json.dumps(parameter.default))
    return values


def differences(stored, config, ignore=()):
    """Sorted fields whose values differ between two configs.

    A field absent from `stored` is no difference when `config` holds the
    value it implicitly had (`implicit_values`): a config written before
    the field existed (`model.beta_schedule`, the VAE's `model.beta`) ran
    with that value.
    """
    a, b = flatten(stored), flatten(config)
    implicit = implicit_values(config)

    def differs(field):
        if field in ignore:
            return False
        if field not in a and field in b and field in implicit:
            return b[field] != implicit[field]
        return a.get(field, "<absent>") != b.get(field, "<absent>")

    return sorted(field for field in set(a) | set(b) if differs(field))


def did_you_mean(candidates, name):
    """" Did you mean `<candidate>`?" for the one of `candidates` most like
    `name` (a config's fields: `flatten(config)`), or ""."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return f" Did you mean `{matches[0]}`?" if matches else ""
