"""Measuring what a representation keeps: estimators, bounds, planes, surrogates."""

from infodropout_tf.information.binning import binning_information
from infodropout_tf.information.bounds import information_dropout_bound
from infodropout_tf.information.bounds import information_dropout_kl
from infodropout_tf.information.bounds import label_entropy
from infodropout_tf.information.bounds import label_information_bound
from infodropout_tf.information.bounds import monte_carlo_cross_entropies
from infodropout_tf.information.gaussian import gaussian_entropy_bound
from infodropout_tf.information.gaussian import gaussian_mutual_information
from infodropout_tf.information.gaussian import log_activation_total_correlation
from infodropout_tf.information.gaussian import total_correlation
from infodropout_tf.information.gaussian_dropout import additive_gaussian_information
from infodropout_tf.information.gaussian_dropout import gaussian_dropout_information
from infodropout_tf.information.kl_localization import kl_mass_inside_boxes
from infodropout_tf.information.mine import mine_lower_bound
from infodropout_tf.information.plane import estimate_information_plane
from infodropout_tf.information.regularizers import ConditionalLogVariance
from infodropout_tf.information.regularizers import LogVariance
from infodropout_tf.information.regularizers import SquaredNorm
# The noise of Kirsch et al.'s surrogates, beside them (it lives in layers/).
from infodropout_tf.layers import ZeroEntropyNoise
