"""The strategy a config names, and this process's role in a TF_CONFIG cluster
(`infodropout_tf.training.strategies`)."""

import json

import pytest
import tensorflow as tf

from infodropout_tf.training import strategies


def _set_cluster(monkeypatch, cluster, task_type, index):
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": cluster, "task": {"type": task_type, "index": index}}))


WORKERS = {"worker": ["host0:2222", "host1:2222", "host2:2222"]}
WITH_CHIEF = {"chief": ["host0:2222"], "worker": ["host1:2222", "host2:2222"]}


def test_default_and_one_device_strategies_run_one_replica_on_the_first_cpu():
    # No GPU in the test environment: one_device falls back to the CPU.
    assert not tf.config.list_logical_devices("GPU")
    default = strategies.make_strategy("default")
    assert default is tf.distribute.get_strategy()
    assert default.num_replicas_in_sync == 1
    one_device = strategies.make_strategy("one_device")
    assert isinstance(one_device, tf.distribute.OneDeviceStrategy)
    assert one_device.num_replicas_in_sync == 1
    assert one_device.extended.worker_devices == ("/job:localhost/replica:0/task:0/device:CPU:0",)


def test_mirrored_strategy_without_gpus_mirrors_over_the_logical_cpus():
    # Only constructed, never run: tests/distribute_test.py owns the one
    # MirroredStrategy that runs collectives in this process. Without GPUs it
    # takes every logical CPU, here the two that conftest.py creates.
    mirrored = strategies.make_strategy("mirrored")
    assert type(mirrored) is tf.distribute.MirroredStrategy
    assert mirrored.num_replicas_in_sync == 2
    assert mirrored.extended.worker_devices == tuple(
        f"/job:localhost/replica:0/task:0/device:CPU:{i}" for i in range(2))


@pytest.mark.parametrize("name", ["Mirrored", "gpu", "", None])
def test_unknown_strategy_names_are_rejected_with_the_choices(name):
    with pytest.raises(ValueError) as error:
        strategies.make_strategy(name)
    assert str(error.value) == (
        "Invalid value received for config field `strategy`. Expected one of "
        "['default', 'one_device', 'mirrored', 'multi_worker', 'tpu']. "
        f"Received: strategy={name!r}")


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match=r"^strategy=multi_worker needs the cluster in the "
                                         r"TF_CONFIG environment variable"):
        strategies.make_strategy("multi_worker")


def test_without_a_cluster_the_process_is_the_chief_with_index_0(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert strategies.is_chief() is True
    assert strategies.task_index() == 0
    # A cluster description without a task is a single process too.
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": WORKERS}))
    assert strategies.is_chief() is True
    assert strategies.task_index() == 0


@pytest.mark.parametrize("index,chief", [(0, True), (1, False), (2, False)])
def test_worker_0_is_the_chief_of_a_cluster_of_workers(monkeypatch, index, chief):
    _set_cluster(monkeypatch, WORKERS, "worker", index)
    assert strategies.is_chief() is chief
    assert strategies.task_index() == index


@pytest.mark.parametrize("task_type,index,chief", [
    ("chief", 0, True), ("worker", 0, False), ("worker", 1, False), ("evaluator", 0, False)])
def test_a_cluster_with_a_chief_task_has_no_chief_worker(monkeypatch, task_type, index, chief):
    _set_cluster(monkeypatch, WITH_CHIEF, task_type, index)
    assert strategies.is_chief() is chief
    assert strategies.task_index() == index
