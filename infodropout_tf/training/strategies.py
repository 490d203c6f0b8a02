"""The tf.distribute strategy a config asks for (after tensorflow/models'
`official/common/distribute_utils.py`)."""

import json
import os

import tensorflow as tf

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")


def make_strategy(name, tpu_address=""):
    """Returns the strategy called `name`.

    * `default`: no distribution (the current default strategy).
    * `one_device`: the first GPU, else the CPU.
    * `mirrored`: data parallelism over all local GPUs (or the CPU).
    * `multi_worker`: MultiWorkerMirroredStrategy, cluster from TF_CONFIG.
    * `tpu`: TPUStrategy on `tpu_address` (empty: the local TPU).

    Batch sizes are global: `fit` splits each batch across the replicas.
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Invalid value received for config field `strategy`. Expected one of "
            f"{list(STRATEGIES)}. Received: strategy={name!r}"
        )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "strategy=multi_worker needs the cluster in the TF_CONFIG environment "
                "variable (see tf.distribute.MultiWorkerMirroredStrategy)."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_chief():
    """Whether this process writes the outputs (the chief, or worker 0)."""
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = cluster.get("task", {})
    if not task:
        return True
    if "chief" in cluster.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0


def task_index():
    """This process's index in its TF_CONFIG task type (0 without a cluster)."""
    return json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0)
