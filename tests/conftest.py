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
