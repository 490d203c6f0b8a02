"""Keras callbacks for `model.fit` users: TensorBoard analysis of the noise
layers (KL heatmaps, information flow, alpha histograms, total correlation),
beta schedules (KL warm-up), each KL layer's KL in the logs, the
information plane of chosen layers over training, and BatchNorm statistics
re-estimated with the noise off before each evaluation."""

from infodropout_tf.callbacks.analysis_summaries import AnalysisSummaries
from infodropout_tf.callbacks.batch_norm_recalibration import BatchNormRecalibration
from infodropout_tf.callbacks.batch_norm_recalibration import recalibrate_batch_norm
from infodropout_tf.callbacks.beta_schedule import BetaSchedule
from infodropout_tf.callbacks.beta_schedule import cosine_schedule
from infodropout_tf.callbacks.beta_schedule import linear_schedule
from infodropout_tf.callbacks.information_plane import InformationPlane
from infodropout_tf.callbacks.kl_monitor import KLMonitor

__all__ = [
    "AnalysisSummaries",
    "BatchNormRecalibration",
    "BetaSchedule",
    "InformationPlane",
    "KLMonitor",
    "cosine_schedule",
    "linear_schedule",
    "recalibrate_batch_norm",
]
