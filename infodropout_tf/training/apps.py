"""absl command-line programs: train a classifier, train a VAE, evaluate.

    infodropout-train --config=mnist_mlp --workdir=/tmp/mnist_mlp
    infodropout-train --config=mnist_mlp --config.model.width=128 ...
    infodropout-train-vae --config=mnist_vae --workdir=/tmp/vae
    infodropout-evaluate --config=mnist_mlp --workdir=/tmp/mnist_mlp

(also `python train/train.py ...`, `python train/train_vae.py ...`,
`python train/evaluate.py ...` from a checkout). `--config` takes the name
of a config installed with the package (the repository's `configs/`,
installed as `infodropout_tf.configs`) or the path of a config file,
`--config=configs/mnist_mlp.py`. Any config field can be overridden with
`--config.<field>=<value>`.

A problem prints one line, `error: ...`, naming what is wrong and the fix:
exit status 2 for the command line and the config (a missing or broken
config file, an unknown field, a value out of range: nothing is written),
1 for the data, the workdir, a full disk or a diverging run (the workdir
keeps its last complete epoch, and rerunning resumes from there).
Ctrl-C exits with 130 and SIGTERM with 143, with one line, after saving
`checkpoints/interrupted.keras` if training had started; rerunning the same
command resumes. Only the first of these signals counts: later ones do not
cut the save short (`interrupts.raise_once`). Ctrl-C while the command
starts (importing TensorFlow, reading the config) also ends it with one
line (`interrupts.install_for_commands`).
"""

import os
import signal
import sys

import tensorflow as tf
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from infodropout_tf.atomic_files import OutputWriteError
from infodropout_tf.training import config as config_lib
from infodropout_tf.training import config_diff
from infodropout_tf.training import interrupts
from infodropout_tf.training.callbacks import NonFiniteLossError
from infodropout_tf.training.evaluate import evaluate
from infodropout_tf.training.trainer import train_and_evaluate
from infodropout_tf.training.workdir import WorkdirError

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config: a packaged config's name, e.g. mnist_mlp, or a config "
    "file, e.g. configs/mnist_mlp.py.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder of the run.")

# OSError and OpError: a disk that fills while Keras or TensorFlow append
# to a log or write a SavedModel.
_RUN_ERRORS = (WorkdirError, NonFiniteLossError, OutputWriteError, OSError, ValueError,
               tf.errors.OpError)


def _fail(message, status):
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(status)


def _check_overrides(argv, config):
    """Names an unknown `--config.<field>` with the closest existing field."""
    fields = config_diff.flatten(config)
    for argument in argv[1:]:
        name = argument.lstrip("-").split("=", 1)[0]
        if not name.startswith("config."):
            continue
        field = name[len("config."):]
        if field in fields or any(f.startswith(field + ".") for f in fields):
            continue
        # The deepest existing group the field was meant to be in.
        parent = field.rpartition(".")[0]
        while parent and not any(f.startswith(parent + ".") for f in fields):
            parent = parent.rpartition(".")[0]
        siblings = sorted({f[len(parent) + 1 if parent else 0:].split(".")[0]
                           for f in fields if not parent or f.startswith(parent + ".")})
        where = f"`{parent}`" if parent else "the config"
        _fail(f"unknown config field `{field}`.{config_lib.did_you_mean(fields, field)} "
              f"The fields of {where} are: {', '.join(siblings)}.", 2)


def _resolve_config_names(argv):
    """`argv` with the packaged config a `--config=<name>` names turned into its file.

    `--config=mnist_mlp` and `--config mnist_mlp` become the path of
    `mnist_mlp.py` in the installed `infodropout_tf.configs`; a file,
    `--config=configs/mnist_mlp.py`, stays as it is (`config.resolve`).
    """
    resolved = list(argv)
    for index, argument in enumerate(argv[1:], start=1):
        name = argument.lstrip("-")
        if name == "config" and index + 1 < len(argv):
            resolved[index + 1] = config_lib.resolve(argv[index + 1])
        elif name.startswith("config="):
            flag, value = argument.split("=", 1)
            resolved[index] = f"{flag}={config_lib.resolve(value)}"
    return resolved


def _parse_flags(argv):
    """absl's flag parsing, with one-line errors for the config and its overrides."""
    try:
        argv = _resolve_config_names(argv)
        paths = [b if a.lstrip("-") == "config" else a.split("=", 1)[1]
                 for a, b in zip(argv[1:], argv[2:] + [""])
                 if a.lstrip("-") == "config" or a.lstrip("-").startswith("config=")]
        if paths:
            # ml_collections accepts `file.py:argument`; the file is before the colon.
            path = paths[-1] if os.path.exists(paths[-1]) else paths[-1].split(":")[0]
            _check_overrides(argv, config_lib.from_file(path))
        remaining = flags.FLAGS(argv)
        if _CONFIG.value is None or _WORKDIR.value is None:
            _fail("both --config=<experiment> (a packaged config's name, e.g. mnist_mlp, or "
                  "a config file) and --workdir=DIR are required.", 2)
        return remaining
    except config_lib.ConfigError as error:
        _fail(error, 2)
    except flags.Error as error:
        _fail(f"{error}. Pass --helpfull to list the flags.", 2)


def _run(function, model_kind=None, rerun="resume from the last completed epoch"):
    def main(argv):
        if len(argv) > 1:
            _fail(f"unexpected arguments: {' '.join(argv[1:])}; every option is "
                  "--config.<field>=<value> or --workdir=DIR.", 2)
        config = _CONFIG.value
        is_vae = config.model.get("name") == "vae"
        if model_kind == "vae" and not is_vae:
            _fail("infodropout-train-vae trains VAE configs (model.name='vae'); "
                  "use infodropout-train for classifiers.", 2)
        if model_kind == "classifier" and is_vae:
            _fail("this is a VAE config; train it with infodropout-train-vae.", 2)
        interrupts.raise_once()
        logging.set_verbosity(logging.INFO)
        try:
            results = function(config, _WORKDIR.value)
        except config_lib.ConfigError as error:
            _fail(error, 2)
        except _RUN_ERRORS as error:
            _fail(error, 1)
        except interrupts.Interrupted as interrupted:
            _fail(f"{interrupted}; rerun the same command to {rerun}.", interrupted.exit_status)
        print(f"Results: {results}")
        print(f"Outputs in {_WORKDIR.value}: TensorBoard logs in tensorboard/, checkpoints "
              "in checkpoints/ and backup/, SavedModel in saved_model/, model.keras.")

    return main


def _app(main):
    try:
        app.run(main, flags_parser=_parse_flags)
    # Before `main` handles them: while the flags and the config are read.
    except interrupts.Interrupted as interrupted:
        _fail(f"{interrupted}; rerun the same command to start it again.",
              interrupted.exit_status)
    except KeyboardInterrupt:
        _fail(interrupts.INTERRUPTED, 128 + signal.SIGINT)


def run_train():
    """Console script `infodropout-train`."""
    _app(_run(train_and_evaluate, "classifier"))


def run_train_vae():
    """Console script `infodropout-train-vae`."""
    _app(_run(train_and_evaluate, "vae"))


def run_evaluate():
    """Console script `infodropout-evaluate`."""
    _app(_run(evaluate, rerun="evaluate again"))
