"""Measuring what a representation keeps: estimators, bounds and information planes."""

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

__all__ = [
    "additive_gaussian_information",
    "binning_information",
    "estimate_information_plane",
    "gaussian_dropout_information",
    "gaussian_entropy_bound",
    "gaussian_mutual_information",
    "information_dropout_bound",
    "information_dropout_kl",
    "kl_mass_inside_boxes",
    "label_entropy",
    "label_information_bound",
    "log_activation_total_correlation",
    "mine_lower_bound",
    "monte_carlo_cross_entropies",
    "total_correlation",
]
