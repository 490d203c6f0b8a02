"""Test-session set-up shared by all tests.

The CPU is split into two logical devices before TensorFlow initialises its
runtime, so that MirroredStrategy tests can run two replicas on one CPU
(the pattern of keras/src/backend/tensorflow/distribute_test.py). Every other
test runs on the first logical device, as it would without the split.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from the float32 policy and a clean Keras session."""
    keras.config.set_dtype_policy("float32")
    keras.backend.clear_session()
    yield
    keras.config.set_dtype_policy("float32")


def load_mnist(split, num_examples):
    """The first `num_examples` of real MNIST, float32 in [0, 1], (n, 28, 28, 1).

    Read from the prepared tensorflow-datasets copy in TFDS_DATA_DIR; never
    downloads.
    """
    import numpy as np
    import tensorflow_datasets as tfds

    data_dir = os.environ.get("TFDS_DATA_DIR")
    assert data_dir and os.path.isdir(os.path.join(data_dir, "mnist")), (
        "Set TFDS_DATA_DIR to a tensorflow-datasets directory with a prepared "
        "mnist/3.0.1 (see the README's Quick start)."
    )
    data = tfds.load("mnist", split=f"{split}[:{num_examples}]", as_supervised=True,
                     download=False, data_dir=data_dir, batch_size=-1)
    images, labels = tfds.as_numpy(data)
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


@pytest.fixture(scope="session")
def mnist_train():
    """512 real MNIST training examples."""
    return load_mnist("train", 512)


@pytest.fixture(scope="session")
def testing_config():
    """Factory of `configs/testing.py` with overrides: `make(**{"a.b": value})`."""
    from infodropout_tf.training import config as config_lib

    path = os.path.join(os.path.dirname(__file__), os.pardir, "configs", "testing.py")

    def make(**overrides):
        config = config_lib.from_file(path)
        for key, value in overrides.items():
            target = config
            *parents, leaf = key.split(".")
            for parent in parents:
                target = target[parent]
            target[leaf] = value
        return config

    return make
