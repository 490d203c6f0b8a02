"""Every model: built from config, trained on real MNIST, saved and exported."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf.callbacks import recalibrate_batch_norm
from infodropout_tf.layers import set_stochastic_inference

# Small but real versions of each model, for MNIST-sized inputs.
CLASSIFIER_CONFIGS = {
    "all_cnn_32": {"name": "all_cnn_32", "input_shape": (28, 28, 1), "filter_fraction": 0.25},
    "all_cnn_96": {"name": "all_cnn_96", "input_shape": (28, 28, 1), "filter_fraction": 0.25,
                   "batch_norm_momentum": 0.9},
    "mlp": {"name": "mlp", "width": 128},
    "lenet": {"name": "lenet"},
    "vib": {"name": "vib", "hidden_units": (256,), "latent_dim": 32},
}


def _classifier(key, **overrides):
    return models.build(
        {**CLASSIFIER_CONFIGS[key], "num_train_examples": 60_000, "seed": 0, **overrides}
    )


# All-CNN-32's training on MNIST is slow (left out of CI): its blocks are
# All-CNN-96's, which learns MNIST here in CI, and the network itself trains
# in CI's occluded_cifar_all_cnn32 smoke run (training_test).
@pytest.mark.parametrize("key", [
    pytest.param(key, marks=pytest.mark.slow) if key == "all_cnn_32" else key
    for key in sorted(CLASSIFIER_CONFIGS)])
def test_classifier_trains_on_mnist(key, mnist_train):
    x, y = mnist_train
    keras.utils.set_random_seed(0)
    model = _classifier(key)
    model.compile(keras.optimizers.Adam(3e-3))
    before = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    model.fit(x, y, batch_size=64, epochs=5, verbose=0)
    # The protocol of the paper: BatchNorm statistics re-estimated without
    # noise, then a deterministic evaluation.
    recalibrate_batch_norm(model, tf.data.Dataset.from_tensor_slices(x).batch(64))
    after = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)

    assert after["loss"] < before["loss"]
    assert after["cross_entropy"] < 0.8 * before["cross_entropy"]
    assert len(model.kl_layers) >= 1
    model(x[:8], training=True)
    assert len(model.losses) == len(model.kl_layers)
    assert all(float(loss) > 0 for loss in model.losses)


@pytest.mark.parametrize("latent", ["gaussian", "information_dropout"])
def test_vae_trains_on_binarized_mnist(latent, mnist_train):
    x = (mnist_train[0] > 0.5).astype("float32")
    keras.utils.set_random_seed(0)
    model = models.build({"name": "vae", "latent": latent, "seed": 0})
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(x, batch_size=64, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] - 50  # nats per example
    assert len(model.losses) == 1
    assert history["kl"][-1] > 0


def test_swapping_the_vae_latent_changes_only_the_latent():
    gaussian = models.build({"name": "vae", "latent": "gaussian"})
    information = models.build({"name": "vae", "latent": "information_dropout"})
    x = np.zeros((2, 28, 28, 1), "float32")
    gaussian(x)
    information(x)

    def shapes(model, part):
        return [tuple(w.shape) for w in getattr(model, part).weights]

    assert shapes(gaussian, "encoder") == shapes(information, "encoder") == [(784, 512), (512,)]
    assert shapes(gaussian, "decoder") == shapes(information, "decoder")
    assert isinstance(gaussian.latent, layers.GaussianLatent)
    assert isinstance(information.latent, layers.InformationDropout)
    assert information.latent.prior.__class__.__name__ == "LogNormalPrior"
    assert information.latent_features.activation.__name__ == "softplus"


def test_build_rejects_unknown_names_and_entries():
    with pytest.raises(ValueError, match=r"`name`.*Received: name='resnet'"):
        models.build({"name": "resnet"})
    with pytest.raises(ValueError, match=r"Unknown config entries for model 'mlp': \['widht'\]"):
        models.build({"name": "mlp", "widht": 10})
    # The VAE takes beta, but not the classifiers' noise options.
    with pytest.raises(ValueError,
                       match=r"Unknown config entries for model 'vae': \['dropout_rate'\]"):
        models.build({"name": "vae", "beta": 2.0, "dropout_rate": 0.5})


def _all_models():
    built = {key: _classifier(key) for key in CLASSIFIER_CONFIGS}
    built["vae_gaussian"] = models.build({"name": "vae", "latent": "gaussian", "seed": 1})
    built["vae_information_dropout"] = models.build(
        {"name": "vae", "latent": "information_dropout", "seed": 2}
    )
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    for model in built.values():
        model.compile(keras.optimizers.SGD(1e-3))
        if isinstance(model, models.VAE):
            model.fit((x > 0.5).astype("float32"), epochs=1, verbose=0)
            # The VAE samples its latent even at inference; compare means.
            set_stochastic_inference(model, False)
        else:
            model.fit(x, np.arange(4), epochs=1, verbose=0)
    return built, x


def test_models_round_trip_through_keras_files(tmp_path):
    built, x = _all_models()
    for key, model in built.items():
        path = str(tmp_path / f"{key}.keras")
        model.save(path)
        restored = keras.models.load_model(path)
        if isinstance(restored, models.VAE):
            assert restored.latent.stochastic_inference  # as built
            set_stochastic_inference(restored, False)
        np.testing.assert_array_equal(
            restored.predict(x, verbose=0), model.predict(x, verbose=0), err_msg=key
        )
        assert [w.path for w in restored.weights] == [w.path for w in model.weights]


@pytest.mark.slow
def test_models_export_saved_models_read_in_a_fresh_process(tmp_path):
    built, x = _all_models()
    np.save(tmp_path / "x.npy", x)
    expected = {}
    for key, model in built.items():
        model.export(str(tmp_path / key))
        expected[key] = model.predict(x, verbose=0)
    script = textwrap.dedent(
        f"""
        import json, numpy as np, tensorflow as tf
        x = np.load({str(tmp_path / "x.npy")!r})
        outputs = {{}}
        for key in {sorted(built)!r}:
            loaded = tf.saved_model.load({str(tmp_path)!r} + "/" + key)
            outputs[key] = loaded.serve(x).numpy().tolist()
        print(json.dumps(outputs))
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, check=True, cwd=str(tmp_path))
    outputs = json.loads(result.stdout.splitlines()[-1])
    for key, values in outputs.items():
        np.testing.assert_allclose(np.asarray(values, "float32"), expected[key],
                                   rtol=1e-5, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("name, layer", [("lenet", "dense2"), ("mlp", "dense3")])
def test_zero_entropy_noise_and_a_surrogate_survive_a_keras_file(name, layer, tmp_path):
    model = models.build({"name": name, "noise": "zero_entropy", "seed": 0,
                          "surrogate": "conditional_log_variance", "surrogate_weight": 0.3})
    noise_layer = model.network.get_layer("dropout" if name == "lenet" else "dropout3")
    assert isinstance(noise_layer, layers.ZeroEntropyNoise)
    # Z is the input of that noise layer, the penultimate block's features.
    assert model.network.get_layer(layer).output is noise_layer.input[0]
    model.compile(keras.optimizers.SGD(1e-3))
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(8, 28, 28, 1)).astype("float32"), np.arange(8) % 3
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert (restored.surrogate, restored.surrogate_weight, restored.surrogate_layer) == (
        "conditional_log_variance", 0.3, layer)
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    assert expected["surrogate"] > 0
    assert restored.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(expected)


def test_mlp_with_given_widths_and_noise_on_the_last_layer_only():
    # Adilova et al.'s information-plane network: 784-512-128-32-10, Gaussian
    # dropout after the 32-unit layer only.
    model = models.build({"name": "mlp", "hidden_units": (512, 128, 32), "noisy_layers": "last",
                          "activation": "softplus", "noise": "gaussian", "seed": 0})
    dense = [layer for layer in model.network.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [512, 128, 32, 10]
    noise = [layer for layer in model.network.layers if isinstance(layer, layers.NoiseLayer)]
    assert [layer.name for layer in noise] == ["dropout3"]
    assert model.network.get_layer("dropout3").input[0] is model.network.get_layer(
        "dense3").output
    # The default keeps width x depth, with a block after every layer.
    default = models.build({"name": "mlp", "width": 16})
    assert [layer.name for layer in default.network.layers
            if isinstance(layer, layers.NoiseLayer)] == ["dropout1", "dropout2", "dropout3"]
    with pytest.raises(ValueError, match="noisy_layers"):
        models.build({"name": "mlp", "noisy_layers": "first"})
    with pytest.raises(ValueError, match="hidden_units"):
        models.build({"name": "mlp", "hidden_units": (512, 0)})
