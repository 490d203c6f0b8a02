"""Sweeps: named runs of a config file with field overrides.

The experiments of `docs/results.md` are defined next to the config files
they override, one file per row of the results page,
`configs/sweeps/<row>.py`, found by its file name as the config files are.
Each defines `get_runs(data_dir)`, returning a list of `Run`s;
`infodropout-reproduce` (`infodropout_tf/results/reproduce.py`) trains them and
draws their figures. The configs folder is by default the one installed
with the package (`config.packaged_configs_dir()`, the checkout's
`configs/` in an editable install), or any folder laid out like it.

    from infodropout_tf.results import sweeps

    for run in sweeps.runs("vae"):
        print(run.name, run.command())
"""

import dataclasses
import importlib.util
import os

from infodropout_tf.training import config as config_lib
from infodropout_tf.training import config_diff
from infodropout_tf.training import config_schema

SWEEPS_FOLDER = "sweeps"


class SweepError(ValueError):
    """A sweep is undefined or one of its runs cannot be configured."""


def _folder(configs_dir):
    """`configs_dir`, or the packaged configs' folder when it is None."""
    if configs_dir is not None:
        return configs_dir
    try:
        return config_lib.packaged_configs_dir()
    except config_lib.ConfigError as error:
        raise SweepError(error) from error


def format_value(value):
    """A config value as `--config.<field>=` takes it on the command line.

    Tuples are written without spaces, `(4,8)` and `(6,)`, so that a shell
    keeps each override in one argument.
    """
    if isinstance(value, (tuple, list)):
        items = ",".join(format_value(item) for item in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    return str(value)


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run of a sweep.

    Args:
        name: The run's name, unique within its sweep; its workdir is
            `ROOT/<name>`.
        config: The config file, relative to the configs folder
            (`"mnist_mlp.py"`).
        overrides: Dict of config field (dotted, `"model.width"`) to the
            value it takes in this run; applied in order.
        trainer: The console command that trains it: `"infodropout-train"`
            or `"infodropout-train-vae"`.
    """

    name: str
    config: str
    overrides: dict = dataclasses.field(default_factory=dict)
    trainer: str = "infodropout-train"

    def command(self, configs_dir=None):
        """The trainer's command line, without `--workdir`, as a list of arguments.

        Args:
            configs_dir: The folder of the config files, named in
                `--config=<folder>/<file>`; None for the packaged configs,
                named by name, `--config=mnist_mlp`.
        """
        if configs_dir is None:
            config = os.path.splitext(self.config)[0]
        else:
            config = os.path.normpath(os.path.join(configs_dir, self.config))
        return [self.trainer, f"--config={config}",
                *(f"--config.{field}={format_value(value)}"
                  for field, value in self.overrides.items())]

    def load_config(self, configs_dir=None):
        """The run's config: the config file with its overrides applied and checked.

        Args:
            configs_dir: The folder of the config files; None for the
                packaged configs.

        Raises:
            SweepError: the config file does not load, an override names a
                field the config does not have or has the wrong type, or a
                value is out of its range (`config_schema.FIELDS`).
        """
        try:
            config = config_lib.from_file(os.path.join(_folder(configs_dir), self.config))
        except config_lib.ConfigError as error:
            raise SweepError(f"run {self.name}: {error}") from error
        fields = config_diff.flatten(config)
        config.lock()  # no override may add a field
        for field, value in self.overrides.items():
            if field not in fields:
                raise SweepError(f"run {self.name}: {self.config} has no field `{field}`."
                                 f"{config_lib.did_you_mean(fields, field)}")
            try:
                config.update_from_flattened_dict({field: value})
            except (TypeError, ValueError, KeyError) as error:
                raise SweepError(f"run {self.name}: cannot set `{field}` to {value!r}: "
                                 f"{error}") from error
        try:
            config_schema.validate(config)
        except config_lib.ConfigError as error:
            raise SweepError(f"run {self.name}: {error}") from error
        return config


def rows(configs_dir=None):
    """The sweep names registered in `configs_dir/sweeps/` (None: the packaged configs), sorted."""
    folder = os.path.join(_folder(configs_dir), SWEEPS_FOLDER)
    if not os.path.isdir(folder):
        raise SweepError(f"{folder} does not exist; pass --configs=DIR, a folder laid out as the "
                         "repository's configs/ (the default is the configs installed with the "
                         "package).")
    return sorted(name[:-len(".py")] for name in os.listdir(folder)
                  if name.endswith(".py") and not name.startswith("_"))


def runs(row, configs_dir=None, data_dir=""):
    """The runs of sweep `row`, in the order they run.

    Args:
        row: A sweep name: `configs_dir/sweeps/<row>.py` defines its runs
            with `get_runs(data_dir)`.
        configs_dir: The folder of the config files and of `sweeps/`; None
            for the configs installed with the package.
        data_dir: tensorflow-datasets folder, for the sweeps that set
            `dataset.data_dir` (Cluttered MNIST); the others ignore it.

    Raises:
        SweepError: unknown row, a sweep file that fails to load or whose
            `get_runs` returns something other than uniquely named `Run`s.
    """
    known = rows(configs_dir)
    folder = os.path.join(_folder(configs_dir), SWEEPS_FOLDER)
    if row not in known:
        raise SweepError(f"Unknown row {row!r}; the rows in {folder} are: {', '.join(known)}.")
    path = os.path.join(folder, f"{row}.py")
    spec = importlib.util.spec_from_file_location(f"sweep_{row}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        row_runs = list(module.get_runs(data_dir))
    except Exception as error:  # a sweep file is user code: any error is its own
        raise SweepError(f"{path} failed to load: {type(error).__name__}: {error}") from error
    if not all(isinstance(run, Run) for run in row_runs):
        raise SweepError(f"{path}: get_runs() must return a list of infodropout_tf.results.sweeps.Run.")
    names = [run.name for run in row_runs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SweepError(f"{path} names several runs {', '.join(repeated)}; "
                         "each needs a workdir of its own.")
    return row_runs
