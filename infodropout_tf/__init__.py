"""Information Dropout and information-bottleneck tools for Keras 3."""

# First, before TensorFlow's seconds-long import: Ctrl-C while one of the
# package's commands starts ends it with one line, not a traceback. Nothing
# changes for a program that imports the package (training/interrupts.py).
from infodropout_tf.training import interrupts as _interrupts

_interrupts.install_for_commands()

from infodropout_tf import callbacks
from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf import priors
from infodropout_tf import surrogates
from infodropout_tf.layers import InformationDropout
from infodropout_tf.per_unit_kl import kl_maps
from infodropout_tf.priors import DistributionPrior
from infodropout_tf.priors import LogNormalPrior
from infodropout_tf.priors import LogUniformPrior
from infodropout_tf.saved_model import export

__version__ = "0.1.0"
