"""Config files: loading one, and the packaged config `--config=<name>` means.

An experiment is a config file with a `get_config()` (under `configs/`,
installed with the package as `infodropout_tf.configs`); its fields, their
defaults and ranges are in `config_schema.py`, and comparing two configs is
`config_diff.py`. `ConfigError` is the one error of a config, whether its
file or one of its fields is unusable.
"""

import difflib
import importlib.util
import os

import ml_collections


class ConfigError(ValueError):
    """A config file or field is unusable; nothing has been written."""


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


def did_you_mean(candidates, name):
    """" Did you mean `<candidate>`?" for the one of `candidates` most like
    `name` (a config's fields: `config_diff.flatten(config)`), or ""."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return f" Did you mean `{matches[0]}`?" if matches else ""
