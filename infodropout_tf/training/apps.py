"""absl command-line programs: train a classifier, train a VAE, evaluate.

    infodropout-train --config=configs/mnist_mlp.py --workdir=/tmp/mnist_mlp
    infodropout-train --config=configs/mnist_mlp.py --config.model.width=128 ...
    infodropout-train-vae --config=configs/mnist_vae.py --workdir=/tmp/vae
    infodropout-evaluate --config=configs/mnist_mlp.py --workdir=/tmp/mnist_mlp

(also `python train/train.py ...`, `python train/train_vae.py ...`,
`python train/evaluate.py ...` from a checkout). Any config field can be
overridden with `--config.<field>=<value>`; unknown fields and wrongly typed
values are rejected by ml_collections before anything runs. Errors about
the data, the workdir or a diverging loss print one line and exit with
status 1; nothing in the workdir is damaged.
"""

import signal
import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from infodropout_tf.training import train_lib

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file, e.g. configs/mnist_mlp.py.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder of the run.")
flags.mark_flags_as_required(["config", "workdir"])

_ERRORS = (train_lib.WorkdirError, train_lib.NonFiniteLossError, FileNotFoundError,
           ValueError)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _run(function, model_kind=None):
    def main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
        config = _CONFIG.value
        is_vae = config.model.name == "vae"
        if model_kind == "vae" and not is_vae:
            print("error: infodropout-train-vae trains VAE configs (model.name='vae'); "
                  "use infodropout-train for classifiers.", file=sys.stderr)
            sys.exit(1)
        if model_kind == "classifier" and is_vae:
            print("error: this is a VAE config; train it with infodropout-train-vae.",
                  file=sys.stderr)
            sys.exit(1)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        logging.set_verbosity(logging.INFO)
        try:
            results = function(config, _WORKDIR.value)
        except _ERRORS as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:
            sys.exit(130)
        print(f"Results: {results}")
        print(f"Outputs in {_WORKDIR.value}: TensorBoard logs in tensorboard/, checkpoints "
              "in checkpoints/ and backup/, SavedModel in saved_model/, model.keras.")

    return main


def run_train():
    """Console script `infodropout-train`."""
    app.run(_run(train_lib.train_and_evaluate, "classifier"))


def run_train_vae():
    """Console script `infodropout-train-vae`."""
    app.run(_run(train_lib.train_and_evaluate, "vae"))


def run_evaluate():
    """Console script `infodropout-evaluate`."""
    app.run(_run(train_lib.evaluate))
