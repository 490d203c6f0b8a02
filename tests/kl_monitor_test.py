"""`KLMonitor`: each KL layer's KL per example in any model's logs."""

import csv

import keras
import numpy as np
import pytest

from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf.callbacks import KLMonitor


def _network():
    """A plain functional model: a convolutional block-form layer, a
    drop-in layer on vectors with the log-normal prior, and the layers
    kept to recompute their inputs by hand."""
    inputs = keras.Input((6, 6, 1))
    conv = keras.layers.Conv2D(3, 3, strides=2, padding="same", activation="relu", name="conv")
    block = layers.InformationDropout(alpha_strides=2, num_train_examples=100, seed=0,
                                      name="block")
    flatten = keras.layers.Flatten()
    dense = keras.layers.Dense(4, activation="softplus", name="dense")
    vector = layers.InformationDropout(prior="log_normal", seed=1, name="vector")
    logits = keras.layers.Dense(2, name="logits")
    outputs = logits(vector(dense(flatten(block([conv(inputs), inputs])))))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, (conv, block, flatten, dense, vector)


def _batch():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(16, 6, 6, 1)).astype("float32"), rng.integers(0, 2, 16)


def _layers_own_kls(parts, x):
    """Each layer's KL map summed over units and averaged over the batch,
    with the noise off (inference)."""
    conv, block, flatten, dense, vector = parts
    features, block_map = block([conv(x), x], training=False, return_kl_map=True)
    _, vector_map = vector(dense(flatten(features)), training=False, return_kl_map=True)
    return {name: float(np.mean(np.sum(np.asarray(kl_map).reshape(len(x), -1), axis=1)))
            for name, kl_map in (("block", block_map), ("vector", vector_map))}


def test_evaluate_logs_each_layers_own_kl_on_a_fixed_batch():
    model, parts = _network()
    x, y = _batch()
    model.evaluate(x, y, verbose=0)  # traced before the monitor: traced again

    logs = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True,
                          callbacks=[KLMonitor()])

    expected = _layers_own_kls(parts, x)
    assert min(expected.values()) > 0
    np.testing.assert_allclose([logs["kl_block"], logs["kl_vector"]],
                               [expected["block"], expected["vector"]], rtol=1e-5)
    # Attached for good: a later evaluate without the callback reports it.
    again = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    assert again["kl_block"] == logs["kl_block"]


def test_fit_logs_and_csv_show_the_kl_of_the_named_layers(tmp_path):
    model, parts = _network()
    x, y = _batch()
    path = str(tmp_path / "log.csv")
    history = model.fit(x, y, batch_size=len(x), epochs=2, validation_data=(x, y), verbose=0,
                        callbacks=[keras.callbacks.CSVLogger(path), KLMonitor(["block"])])

    assert set(history.history) == {"loss", "kl_block", "val_loss", "val_kl_block"}
    # The block's inputs hold no noise, so its KL in training is the
    # inference one; the weights do not move (learning rate 0).
    expected = _layers_own_kls(parts, x)["block"]
    np.testing.assert_allclose(history.history["kl_block"], [expected] * 2, rtol=1e-5)
    np.testing.assert_allclose(history.history["val_kl_block"], [expected] * 2, rtol=1e-5)
    with open(path) as f:
        rows = list(csv.DictReader(f))
    np.testing.assert_allclose([float(row["kl_block"]) for row in rows], [expected] * 2,
                               rtol=1e-5)


def test_a_classifiers_own_kl_metrics_are_not_duplicated():
    classifier = models.build({"name": "mlp", "num_classes": 2, "input_shape": (6, 6, 1),
                               "width": 8, "depth": 2, "seed": 0})
    classifier.compile(keras.optimizers.SGD(0.0))
    x, y = _batch()
    classifier(x)
    before = classifier.metrics_names
    logs = classifier.evaluate(x, y, verbose=0, return_dict=True, callbacks=[KLMonitor()])
    assert classifier.metrics_names == before
    assert len(set(before)) == len(before)
    assert {"kl_dropout1", "kl_dropout2"} <= set(logs)
    assert all(layer._kl_metric is None for layer in layers.kl_layers(classifier))


def test_an_unknown_layer_is_refused_with_the_models_kl_layers():
    model, _ = _network()
    x, y = _batch()
    with pytest.raises(ValueError, match=r"\['conv'\] are not KL layers of the model .*"
                                         r"its KL layers are \['block', 'vector'\]"):
        model.evaluate(x, y, verbose=0, callbacks=[KLMonitor(["conv"])])
    with pytest.raises(ValueError, match="argument `layers`"):
        KLMonitor("block")
