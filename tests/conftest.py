"""Test-session set-up shared by all tests.

The CPU is split into two logical devices before TensorFlow initialises its
runtime, so that MirroredStrategy tests can run two replicas on one CPU
(the pattern of keras/src/backend/tensorflow/distribute_test.py). Every other
test runs on the first logical device, as it would without the split.

Helpers more than one test file needs are fixtures here: test files never
import one another.
"""

import io
import os
import pathlib
import pickle
import shlex
import struct
import tarfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
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


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch):
    """Tests never download: a loader that would fetch a dataset gets the
    error of a machine without network at once (download_test.py replaces
    this with the downloads it simulates)."""
    import requests
    import tensorflow_datasets as tfds

    def offline(self, url_or_urls, *args, **kwargs):
        raise requests.exceptions.ConnectionError(
            f"tests never download (conftest.py): {url_or_urls}")

    monkeypatch.setattr(tfds.download.DownloadManager, "download", offline)
    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", offline)


def load_mnist(split, num_examples):
    """The first `num_examples` of real MNIST, float32 in [0, 1], (n, 28, 28, 1).

    Read from the prepared tensorflow-datasets copy in TFDS_DATA_DIR; never
    downloads.
    """
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
def original_log_normal_kl():
    """The original implementation's log-normal KL (`KL_div2`, paper Prop. 3),
    as `kl(features, alpha, mu, sigma)` in float64 numpy, log f clamped at
    log 1e-4 as there."""

    def kl(features, alpha, mu, sigma):
        log_f = np.log(np.maximum(np.asarray(features, "float64"), 1e-4))
        alpha = np.asarray(alpha, "float64")
        return (0.5 * ((alpha / sigma) ** 2 + (log_f - mu) ** 2 / sigma ** 2 - 1.0)
                + np.log(sigma) - np.log(alpha))

    return kl


@pytest.fixture(scope="session")
def mnist_train():
    """512 real MNIST training examples."""
    return load_mnist("train", 512)


@pytest.fixture(scope="session")
def mnist_test():
    """256 real MNIST test examples."""
    return load_mnist("test", 256)


@pytest.fixture(scope="session")
def testing_config():
    """Factory of `configs/testing.py` with overrides: `make(**{"a.b": value})`."""
    from infodropout_tf.training import config as config_lib

    path = os.path.join(os.path.dirname(__file__), os.pardir, "configs", "testing.py")

    def make(**overrides):
        config = config_lib.from_file(path)
        config.update_from_flattened_dict(overrides)
        return config

    return make


# Prepared and raw data ------------------------------------------------------------

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared_data_dir():
    """The shared tensorflow-datasets directory (TFDS_DATA_DIR) with MNIST."""
    path = os.environ.get("TFDS_DATA_DIR")
    assert path and os.path.isdir(os.path.join(path, "mnist")), "Set TFDS_DATA_DIR (README)."
    return path


@pytest.fixture(scope="session")
def raw_mnist_dir():
    """The four MNIST IDX .gz files of ../shared/data/mnist."""
    path = SHARED / "data" / "mnist"
    assert path.is_dir(), f"The raw MNIST archives are expected in {path} (README)."
    return path


@pytest.fixture
def work_dir(tmp_path, shared_data_dir):
    """A writable data_dir whose `mnist` is the shared prepared copy."""
    data_dir = tmp_path / "tensorflow_datasets"
    data_dir.mkdir()
    (data_dir / "mnist").symlink_to(os.path.abspath(os.path.join(shared_data_dir, "mnist")))
    return str(data_dir)


@pytest.fixture(scope="session")
def as_numpy():
    """`as_numpy(name, split, data_dir, **config)`: a prepared split as numpy
    arrays (one batch), read by the builder behind pipeline `name`."""
    import tensorflow_datasets as tfds

    from infodropout_tf.data import pipelines

    def read(name, split, data_dir, **config):
        return tfds.as_numpy(
            pipelines.builder(name, data_dir, **config).as_dataset(split=split, batch_size=-1)
        )

    return read


# A fake CIFAR-10 python archive ---------------------------------------------------

class _Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the CIFAR-10 batches.

    Protocol 2, every string (keys, names, raw pixels) a byte string
    (BINSTRING, read back through `encoding="latin1"`); `python2_pickle`
    also names numpy 1's `numpy.core` module, as the real archive does.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_byte_string(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[str] = _save_byte_string
    dispatch[bytes] = _save_byte_string


class _RunsCode:
    """Unpickles into a shell command that writes `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"echo code ran > {shlex.quote(self.marker)}",)


class FakeCifar:
    """Writes `cifar-10-python.tar.gz` archives in the real layout."""

    # What preparing the archive of `crafted` must say.
    CRAFTED_ERROR = (r"cifar-10-python.tar.gz: cifar-10-batches-py/data_batch_1 names the global "
                     r"\w+\.system, which a CIFAR-10 batch never holds; the archive is not the "
                     r"official CIFAR-10 archive")

    @staticmethod
    def python2_pickle(content):
        buffer = io.BytesIO()
        _Python2Pickler(buffer, protocol=2).dump(content)
        # Protocol 2 names globals as text lines, so the module can be swapped.
        return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")

    @staticmethod
    def members(train_per_batch=40, test=50, seed=0):
        """The members of a CIFAR-10 python archive, with random pixels."""
        rng = np.random.default_rng(seed)
        members = {"cifar-10-batches-py/batches.meta": {
            "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                            "horse", "ship", "truck"]}}
        for name, count in [(f"data_batch_{i}", train_per_batch) for i in range(1, 6)] + [
                ("test_batch", test)]:
            members[f"cifar-10-batches-py/{name}"] = {
                "data": rng.integers(0, 256, size=(count, 3072), dtype=np.uint8),
                "labels": rng.integers(0, 10, size=count).tolist()}
        return members

    @classmethod
    def write(cls, directory, members, dumps=None):
        """Writes `members`, each pickled by `dumps` (default `python2_pickle`)."""
        dumps = dumps or cls.python2_pickle
        path = os.path.join(directory, "cifar-10-python.tar.gz")
        with tarfile.open(path, "w:gz") as archive:
            for member, content in members.items():
                payload = dumps(content)
                info = tarfile.TarInfo(member)
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
        return path

    @classmethod
    def fake(cls, directory, train_per_batch=40, test=50, seed=0):
        """Writes a cifar-10-python.tar.gz with the real layout and random pixels.

        Its checksum is not the official one: prepare it with
        `verify_checksum=False`.

        Returns:
            The archive's path and {batch name: {"data", "labels"}}.
        """
        members = cls.members(train_per_batch, test, seed)
        arrays = {member.rsplit("/", 1)[1]: content for member, content in members.items()
                  if not member.endswith("batches.meta")}
        return cls.write(directory, members), arrays

    @classmethod
    def crafted(cls, tmp_path):
        """A CIFAR-10 archive whose data_batch_1 writes tmp_path/marker when unpickled.

        Returns:
            The folder holding the archive, and the marker's path.
        """
        marker = tmp_path / "marker"
        # The payload is live: unpickled freely, it writes its marker.
        control = tmp_path / "control"
        pickle.loads(pickle.dumps(_RunsCode(str(control))))
        assert control.read_text() == "code ran\n"
        members = cls.members()
        members["cifar-10-batches-py/data_batch_1"] = {"data": _RunsCode(str(marker)),
                                                       "labels": [0]}
        source = tmp_path / "archives"
        source.mkdir()
        cls.write(str(source), members, pickle.dumps)
        return source, marker


@pytest.fixture(scope="session")
def fake_cifar():
    """`FakeCifar`: `members`, `write`, `fake` and `crafted` CIFAR-10 archives."""
    return FakeCifar()


@pytest.fixture
def layer_contract(tmp_path):
    """`check(make_layer, inputs, ...)`: the contract every noise layer keeps.

    In the spirit of Keras's `run_layer_test`: symbolic and eager shapes,
    deterministic inference, draws that follow the layer's seed, the KL
    loss (only for KL layers), config and `.keras` round trips, masking.

    Args of `check`:
        make_layer: `make_layer(seed)` returns a new layer.
        inputs: float32 numpy batch.
        output_shape: Expected output shape of the batch.
        adds_kl: Whether the layer adds a KL term with `add_loss`.
        identity_at_inference: Whether inference returns `inputs` itself.
        noisy: Whether training draws noise.
        masking: Whether the layer passes a mask through.
    """
    import numpy as np

    def check(make_layer, inputs, output_shape, adds_kl, identity_at_inference=True,
              noisy=True, masking=True):
        layer = make_layer(seed=3)
        symbolic = layer(keras.Input(inputs.shape[1:]))
        assert tuple(symbolic.shape) == (None, *output_shape[1:])

        inference = np.asarray(layer(inputs, training=False))
        assert inference.shape == output_shape and inference.dtype == np.float32
        np.testing.assert_array_equal(layer(inputs, training=False), inference)
        if identity_at_inference:
            np.testing.assert_array_equal(inference, inputs)

        state = np.asarray(layer.seed_generator.state)
        first = np.asarray(layer(inputs, training=True))
        assert first.shape == output_shape and np.isfinite(first).all()
        assert layer.losses if adds_kl else not layer.losses
        if adds_kl:
            (kl,) = layer.losses
            assert np.isfinite(float(kl)) and float(kl) > 0
        second = np.asarray(layer(inputs, training=True))
        advanced = not np.array_equal(np.asarray(layer.seed_generator.state), state)
        assert advanced == noisy and (not np.array_equal(first, second)) == noisy
        # The layer rebuilt from its config alone, given the same weights and
        # seed state, draws the same noise: the config misses nothing.
        config = layer.get_config()
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(layer))
        assert type(restored) is type(layer) and restored.get_config() == config
        restored(inputs, training=False)
        restored.set_weights(layer.get_weights())
        restored.seed_generator.state.assign(state)
        np.testing.assert_array_equal(restored(inputs, training=True), first)

        model_inputs = keras.Input(inputs.shape[1:])
        model = keras.Model(model_inputs, layer(model_inputs))
        model.save(tmp_path / "contract.keras")
        reloaded = keras.models.load_model(tmp_path / "contract.keras")
        np.testing.assert_array_equal(reloaded(inputs, training=False), inference)

        if masking:
            mask = np.ones(inputs.shape[:2], bool)
            assert layer.supports_masking and layer.compute_mask(inputs, mask) is mask

    return check


@pytest.fixture
def reproduce_error(capsys):
    """Runs `infodropout-reproduce` with `argv`, which must fail: returns its
    exit status and its one error line (asserting there is only one)."""
    from infodropout_tf.results import reproduce

    def run(argv):
        with pytest.raises(SystemExit) as raised:
            reproduce.main(argv)
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1, lines
        return raised.value.code, lines[0]

    return run
