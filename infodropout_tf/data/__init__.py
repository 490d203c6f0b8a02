"""Datasets: tensorflow-datasets pipelines, downloads of missing datasets and
offline preparation."""

from infodropout_tf.data.pipelines import DATASETS
from infodropout_tf.data.pipelines import load
from infodropout_tf.data.pipelines import load_epochs
from infodropout_tf.data.pipelines import num_examples
from infodropout_tf.data.prepare import prepare
