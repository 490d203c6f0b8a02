"""Information Dropout and information-bottleneck tools for Keras 3."""

from infodropout_tf import callbacks
from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf import priors
from infodropout_tf.information import regularizers as _registers_regularizers  # noqa: F401
from infodropout_tf.layers import InformationDropout
from infodropout_tf.per_unit_kl import kl_maps
from infodropout_tf.priors import DistributionPrior
from infodropout_tf.priors import LogNormalPrior
from infodropout_tf.priors import LogUniformPrior
from infodropout_tf.saved_model import export

__version__ = "0.1.0"
