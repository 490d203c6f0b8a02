"""`infodropout_tf.callbacks.AnalysisSummaries`: the TensorBoard analysis of
the noise layers for `model.fit` users, and its heatmap layout."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import infodropout_tf
from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf.callbacks import AnalysisSummaries
from infodropout_tf.callbacks.analysis_summaries import heatmap_grid
from infodropout_tf.training import experiment


def _events(directory):
    """{tag: {step: value}}: numbers as floats, images as decoded arrays."""
    found = {}
    for name in sorted(os.listdir(directory)):
        if not name.startswith("events.out.tfevents"):
            continue
        for event in tf.compat.v1.train.summary_iterator(os.path.join(directory, name)):
            for value in event.summary.value:
                array = tf.make_ndarray(value.tensor)
                if value.metadata.plugin_data.plugin_name == "images":
                    array = tf.io.decode_png(array[2]).numpy()  # [width, height, png]
                found.setdefault(value.tag, {})[event.step] = array
    return found


def test_heatmaps_draw_vectors_and_sequences_as_strips_and_images_at_the_inputs_size():
    # Vector inputs are not drawn; a 4-unit layer is a strip of 16 pixels
    # per unit (at least 64 in all), 12 high, rows 2 pixels apart.
    grid, centres = heatmap_grid(np.zeros((2, 5)), [np.array([[0.0, 1, 2, 3], [6, 4, 2, 0]])])
    assert grid.shape == (2 * 12 + 2, 64) and centres == [32]
    np.testing.assert_allclose(grid[:12], np.repeat([0, 1 / 3, 2 / 3, 1], 16)[None].repeat(12, 0))
    np.testing.assert_array_equal(grid[12:14], 0)
    np.testing.assert_allclose(grid[14:], np.repeat([1, 2 / 3, 1 / 3, 0], 16)[None].repeat(12, 0))

    # A sequence input (length 8) is a strip too, 8 pixels per position; a
    # map of half its length is stretched onto it (16 pixels per position,
    # channels summed); a 3-unit vector gets 22 pixels per unit.
    sequence = np.arange(8.0)[None, :, None] * np.ones((1, 8, 3))
    per_position = np.array([[[1.0, 0.0], [0.0, 0.0], [2.0, 1.0], [0.0, 1.0]]])
    grid, centres = heatmap_grid(sequence, [per_position, np.array([[5.0, 5.0, 7.0]])])
    assert grid.shape == (12, 64 + 2 + 64 + 2 + 66)
    assert centres == [32, 98, 165]
    np.testing.assert_allclose(grid[0, :64], np.repeat(np.arange(8) / 7, 8))
    np.testing.assert_allclose(grid[5, 66:130], np.repeat([1 / 3, 0, 1, 1 / 3], 16))
    np.testing.assert_allclose(grid[11, 132:], np.repeat([0, 0, 1], 22))

    # An image (4 x 4) is drawn as it is, a 2 x 2 map upsampled onto it, and
    # a vector layer as a strip of the image's height.
    image = np.arange(16.0).reshape(1, 4, 4, 1)
    feature_map = np.array([[[0.0, 1.0], [3.0, 2.0]]])[..., None] * np.ones((1, 2, 2, 5))
    grid, centres = heatmap_grid(image, [feature_map, np.array([[0.0, 1.0]])])
    assert grid.shape == (4, 4 + 2 + 4 + 2 + 64) and centres == [2, 8, 44]
    np.testing.assert_allclose(grid[:, :4], np.arange(16).reshape(4, 4) / 15)
    np.testing.assert_allclose(grid[:, 6:10], np.kron([[0, 1], [3, 2]], np.ones((2, 2))) / 3)
    np.testing.assert_allclose(grid[:, 12:], np.repeat([0, 1], 32)[None].repeat(4, 0))


def _convolutional():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.InformationDropout(seed=1, name="relu_noise")(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="softplus")(x)
    x = layers.InformationDropout(prior="log_normal", max_alpha=1.0, seed=2,
                                  name="softplus_noise")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def test_a_fit_user_gets_the_analysis_at_the_steps_of_kerass_epoch_scalars(tmp_path):
    keras.utils.set_random_seed(0)
    model = _convolutional()
    model.compile(keras.optimizers.SGD(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(32, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 32)
    images = x[:6]
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[
        keras.callbacks.TensorBoard(str(tmp_path / "logs")),
        AnalysisSummaries(tmp_path / "logs" / "analysis", images, num_heatmap_examples=2,
                          figures_dir=tmp_path / "figures")])

    analysis = _events(tmp_path / "logs" / "analysis")
    per_layer = [f"{kind}/{name}" for name in ("relu_noise", "softplus_noise")
                 for kind in ("alpha", "information_flow")]
    assert sorted(analysis) == sorted(
        ["kl_heatmaps", "total_correlation"] + [t for t in per_layer if t.startswith("alpha")]
        + [f"{t}/{unit}" for t in per_layer if t.startswith("information_flow")
           for unit in ("total", "per_unit")])
    # Keras's TensorBoard steps its epoch scalars by epoch index: so do we.
    assert sorted(_events(tmp_path / "logs" / "train")["epoch_loss"]) == [0, 1]
    assert all(sorted(steps) == [0, 1] for steps in analysis.values())

    # The information flow is the mean summed KL map of the fixed images,
    # computed here through the public kl_maps on the trained model.
    for name, kl_map in infodropout_tf.kl_maps(model, images).items():
        total = kl_map.reshape(len(kl_map), -1).sum(axis=1).mean()
        np.testing.assert_allclose(analysis[f"information_flow/{name}/total"][1], total,
                                   rtol=1e-5)
        np.testing.assert_allclose(analysis[f"information_flow/{name}/per_unit"][1],
                                   total / kl_map[0].size, rtol=1e-5)
    # Two examples, each the 8 x 8 input beside both maps upsampled to it.
    assert analysis["kl_heatmaps"][1].shape == (2 * 8 + 2, 3 * 8 + 2 * 2, 1)

    figures = tmp_path / "figures"
    assert sorted(os.listdir(figures)) == ["information_flow.json", "information_flow.png",
                                           "kl_heatmaps.png", "total_correlation.png"]
    assert json.loads((figures / "information_flow.json").read_text())["epoch"] == 1


def test_the_testing_configs_mlp_gets_strip_heatmaps_and_weighted_kls(tmp_path, testing_config):
    keras.utils.set_random_seed(0)
    config = testing_config()
    model = models.build(experiment.model_config(config, num_train=64))
    model.compile(keras.optimizers.SGD(0.01))
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(64, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 64)
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0,
                        callbacks=[AnalysisSummaries(tmp_path / "analysis", x[:8])])

    analysis = _events(tmp_path / "analysis")
    # Four examples, each the 28 x 28 input beside three 32-unit strips of
    # 64 pixels.
    assert analysis["kl_heatmaps"][0].shape == (4 * 28 + 3 * 2, 28 + 3 * (2 + 64), 1)
    for name in ("dropout1", "dropout2", "dropout3"):
        layer = model.network.get_layer(name)
        np.testing.assert_allclose(analysis[f"kl_weighted/{name}"][0],
                                   layer.kl_weight * history.history[f"kl_{name}"][0], rtol=1e-6)
    assert os.listdir(tmp_path) == ["analysis"]  # no figures without figures_dir


def test_subclassed_models_get_a_warning_and_bad_arguments_an_error(tmp_path):
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="subclassed")
            self.noise = layers.InformationDropout(seed=0, name="noise")

        def call(self, inputs):
            return self.noise(inputs)

    model = Subclassed()
    model(np.ones((2, 3), "float32"))
    callback = AnalysisSummaries(tmp_path, np.ones((2, 3)))
    callback.set_model(model)
    with pytest.warns(UserWarning, match=r"'subclassed' has no graph of layers .* \['noise'\] "
                                         "get no heatmaps"):
        callback.on_train_begin()
    callback.on_epoch_end(0, {})
    callback.on_train_end()
    assert callback.kl_maps == {} and _events(tmp_path) == {}

    with pytest.raises(ValueError, match="`num_heatmap_examples`.*Received: "
                                         "num_heatmap_examples=0"):
        AnalysisSummaries(tmp_path, np.ones((2, 3)), num_heatmap_examples=0)
    with pytest.raises(ValueError, match="`images`.*1 non-finite values"):
        AnalysisSummaries(tmp_path, np.array([[0.0, np.nan]]))
