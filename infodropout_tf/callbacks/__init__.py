"""Keras callbacks for `model.fit` users: TensorBoard analysis of the noise
layers (KL heatmaps, information flow, alpha histograms, total correlation)."""

from infodropout_tf.callbacks.analysis_summaries import AnalysisSummaries
