"""Serialisation: .keras files and SavedModel export, read in a fresh process."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import layers
from infodropout_tf import priors

tfd = tfp.distributions


@keras.saving.register_keras_serializable(package="infodropout_tf_tests")
def saved_lognormal_mixture(parameters):
    return tfd.MixtureSameFamily(
        tfd.Categorical(logits=parameters["logits"]),
        tfd.LogNormal(parameters["loc"], tf.math.softplus(parameters["scale"])),
    )


def _mixture_prior():
    return priors.DistributionPrior(
        saved_lognormal_mixture,
        {"logits": [0.0, 0.0], "loc": [-2.0, 0.0], "scale": [0.5, 0.5]},
        per_channel=("loc",),
    )


def _trained_model():
    """A model with every noise layer, the three kinds of prior and both
    forms, trained a few steps so that alpha branches and prior parameters
    left their init."""
    inputs = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.InformationDropout(alpha_strides=2, beta=1.0, num_train_examples=64,
                                  seed=1)([conv, inputs])
    x = keras.layers.Conv2D(4, 3, padding="same", activation="softplus")(x)
    x = layers.InformationDropout(prior="log_normal", max_alpha=1.0, seed=2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    x = layers.BinaryDropout(0.3, seed=3)(x)
    x = layers.GaussianDropout(0.2, seed=4)(x)
    x = layers.ConstantLogNormalNoise(0.5, seed=5)(x)
    x = layers.NoNoise()(x)
    x = layers.InformationDropout(prior=_mixture_prior(), seed=6, name="mixture")(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    model.compile(keras.optimizers.SGD(0.1),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    data = rng.uniform(size=(64, 8, 8, 1)).astype("float32")
    model.fit(data, rng.integers(0, 3, 64), epochs=2, batch_size=16, verbose=0)
    return model, data[:10]


def test_keras_file_round_trip_gives_identical_outputs_and_priors(tmp_path):
    model, x = _trained_model()
    prior = model.layers[4].prior
    assert float(prior.mu) != 0.0 and float(prior.sigma) != 1.0  # training moved them
    mixture = model.get_layer("mixture").prior
    assert not np.allclose(mixture.parameter_weights["loc"], [-2.0, 0.0])

    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)

    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer) for layer in restored.layers] == [type(layer) for layer in model.layers]
    for original, loaded in zip(model.weights, restored.weights):
        assert original.path == loaded.path
        np.testing.assert_array_equal(original.numpy(), loaded.numpy())
    assert [l.get_config() for l in restored.layers] == [l.get_config() for l in model.layers]
    # The priors' distributions are the same objects' values.
    restored_mixture = restored.get_layer("mixture").prior
    assert restored_mixture.distribution_fn is saved_lognormal_mixture
    z = np.float32([0.05, 0.5, 2.0])[:, None]
    np.testing.assert_array_equal(restored_mixture.log_prob(z), mixture.log_prob(z))
    np.testing.assert_array_equal(restored.layers[4].prior.distribution().scale,
                                  prior.distribution().scale)


def test_stochastic_inference_survives_keras_file(tmp_path):
    inputs = keras.Input((16,))
    outputs = layers.InformationDropout(stochastic_inference=True, seed=1)(inputs)
    path = str(tmp_path / "mc.keras")
    keras.Model(inputs, outputs).save(path)
    restored = keras.models.load_model(path)
    x = np.ones((4, 16), "float32")
    first, second = restored.predict(x, verbose=0), restored.predict(x, verbose=0)
    assert not np.allclose(first, x)
    assert not np.allclose(first, second)


@pytest.mark.slow
def test_exported_saved_model_in_fresh_process_matches(tmp_path):
    model, x = _trained_model()
    export_dir = str(tmp_path / "export")
    model.export(export_dir)
    np.save(tmp_path / "x.npy", x)

    # A fresh interpreter that never imports infodropout_tf: the SavedModel
    # must be self-contained.
    script = textwrap.dedent(
        f"""
        import json, numpy as np, tensorflow as tf
        x = np.load({str(tmp_path / "x.npy")!r})
        loaded = tf.saved_model.load({export_dir!r})
        outputs = [loaded.serve(x).numpy().tolist() for _ in range(2)]
        print(json.dumps(outputs))
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, check=True, cwd=str(tmp_path))
    first, second = (np.asarray(o, "float32") for o in json.loads(result.stdout.splitlines()[-1]))
    expected = model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, expected, rtol=1e-6, atol=1e-6)
