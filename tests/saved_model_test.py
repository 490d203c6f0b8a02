"""`infodropout_tf.export`: SavedModels of user-built models, read in a fresh
process, and the inputs it refuses."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import infodropout_tf
from infodropout_tf import atomic_files
from infodropout_tf import layers
from infodropout_tf.models.classifier import Classifier

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _functional():
    """What a user writes: two information-dropout layers (log-uniform on a
    ReLU, log-normal on a softplus) in a small convolutional network."""
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.InformationDropout(seed=1, name="relu_noise")(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="softplus")(x)
    x = layers.InformationDropout(prior="log_normal", max_alpha=1.0, seed=2,
                                  name="softplus_noise")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x), name="user_model")


class _Subclassed(keras.Model):
    """A subclassed model (as the VAE): no graph reaches its layers' inputs."""

    def __init__(self):
        super().__init__(name="subclassed")
        self.dense = keras.layers.Dense(4, activation="softplus")
        self.noise = layers.InformationDropout(prior="log_normal", seed=3)
        self.out = keras.layers.Dense(2)

    def call(self, inputs, training=None):
        return self.out(self.noise(self.dense(inputs), training=training))


@pytest.mark.slow
def test_user_built_models_reload_in_a_fresh_process(tmp_path):
    model = _functional()
    x = np.random.default_rng(0).uniform(size=(5, 8, 8, 1)).astype("float32")
    path = tmp_path / "exported"
    infodropout_tf.export(_functional(), path)  # replaced by the next export
    infodropout_tf.export(model, path)
    subclassed = _Subclassed()
    features = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    subclassed(features[:2])
    infodropout_tf.export(subclassed, tmp_path / "subclassed")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "features.npy", features)

    # A fresh interpreter that never imports infodropout_tf: the SavedModels
    # must be self-contained.
    script = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        x, features = np.load("x.npy"), np.load("features.npy")
        loaded = tf.saved_model.load("exported")
        sub = tf.saved_model.load("subclassed")
        np.savez("out.npz", serve=loaded.serve(x), noisy_1=loaded.serve_noisy(x),
                 noisy_2=loaded.serve_noisy(x),
                 default=loaded.signatures["serving_default"](inputs=tf.constant(x))["output_0"],
                 sub_serve=sub.serve(features), sub_noisy=sub.serve_noisy(features),
                 sub_has_kl_maps=hasattr(sub, "kl_maps"),
                 **{"kl_" + k: v for k, v in loaded.kl_maps(x).items()})
        """)
    subprocess.run([sys.executable, "-c", script], check=True, env=ENV, cwd=tmp_path,
                   capture_output=True)
    served = dict(np.load(tmp_path / "out.npz"))

    # Graph and eager runs of the same float32 ops: equal to rounding.
    np.testing.assert_allclose(served["serve"], model(x, training=False), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(served["default"], served["serve"])
    assert np.abs(served["noisy_1"] - served["serve"]).max() > 1e-3
    assert np.abs(served["noisy_1"] - served["noisy_2"]).max() > 1e-3
    expected = infodropout_tf.kl_maps(model, x)
    assert sorted(k for k in served if k.startswith("kl_")) == sorted(
        "kl_" + name for name in expected) == ["kl_relu_noise", "kl_softplus_noise"]
    for name, kl_map in expected.items():
        np.testing.assert_allclose(served["kl_" + name], kl_map, rtol=1e-5, atol=1e-6)

    np.testing.assert_allclose(served["sub_serve"], subclassed(features, training=False),
                               rtol=1e-5, atol=1e-6)
    assert np.abs(served["sub_noisy"] - served["sub_serve"]).max() > 1e-3
    assert not served["sub_has_kl_maps"]


def _dense_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs), name="dense_model")


def test_models_export_cannot_use_are_refused_in_one_line(tmp_path):
    path = tmp_path / "exported"
    with pytest.raises(ValueError, match="export needs a keras.Model; received a dict"):
        infodropout_tf.export({}, path)
    unbuilt = keras.Sequential([keras.layers.Dense(2)], name="unbuilt")
    with pytest.raises(ValueError, match=r"'unbuilt' was never built or called.*model\(x\)"):
        infodropout_tf.export(unbuilt, path)
    never_called = Classifier(_dense_model(), name="never_called")
    with pytest.raises(ValueError, match="'never_called' was never built or called"):
        infodropout_tf.export(never_called, path)
    a, b = keras.Input((2,)), keras.Input((3,))
    two = keras.Model([a, b], keras.layers.Concatenate()([a, b]), name="two")
    with pytest.raises(ValueError, match="'two' takes several inputs"):
        infodropout_tf.export(two, path)
    assert not path.exists()


def test_paths_export_would_destroy_or_cannot_write_are_refused(tmp_path):
    model = _dense_model()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    with pytest.raises(ValueError, match=r"notes.txt: it is a file; pass a new folder name"):
        infodropout_tf.export(model, a_file)
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "train.py").write_text("keep me too")
    with pytest.raises(ValueError, match="does not hold a SavedModel, and exporting would "
                                         "replace it"):
        infodropout_tf.export(model, folder)
    assert a_file.read_text() == "keep me"
    assert (folder / "train.py").read_text() == "keep me too"
    # Below a file no folder can be made: the operating system's refusal,
    # in one line naming the path.
    with pytest.raises(atomic_files.OutputWriteError, match=r"could not write .*notes.txt/m"):
        infodropout_tf.export(model, a_file / "m")
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "project"]
