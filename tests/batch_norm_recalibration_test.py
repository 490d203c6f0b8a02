"""BatchNorm recalibration with the noise off (the original's dry run)."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf.callbacks import BatchNormRecalibration
from infodropout_tf.callbacks import recalibrate_batch_norm

ALPHA = 1.0


def _noisy_batch_norm_model():
    """Dense -> log-normal noise (alpha 1) -> BatchNorm -> Dense.

    Under noise the BatchNorm input has mean exp(1/2) ~ 1.65 times the
    noise-free mean, so statistics gathered while training are far from the
    noise-free ones.
    """
    inputs = keras.Input((4,))
    features = keras.layers.Dense(
        3, activation="relu", kernel_initializer=keras.initializers.RandomUniform(0.1, 1.0, seed=0),
        bias_initializer="ones", name="features",
    )(inputs)
    noisy = layers.ConstantLogNormalNoise(ALPHA, seed=1, name="noise")(features)
    normalised = keras.layers.BatchNormalization(momentum=0.9, name="bn")(noisy)
    head = keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(2), name="head")
    model = keras.Model(inputs, head(normalised))
    model.compile(keras.optimizers.SGD(0.0), keras.losses.MeanSquaredError())
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(640, 4)).astype("float32")
    return x, rng.normal(size=(640, 2)).astype("float32")


def test_moving_statistics_become_the_noise_free_dataset_statistics():
    x, y = _data()
    model = _noisy_batch_norm_model()
    model.fit(x, y, batch_size=64, epochs=3, verbose=0)  # lr 0: only BN statistics move
    bn = model.get_layer("bn")
    dense = model.get_layer("features")
    noise_free = np.maximum(x @ dense.kernel.numpy() + dense.bias.numpy(), 0.0)
    target_mean, target_variance = noise_free.mean(axis=0), noise_free.var(axis=0)
    # Training under noise left the moving mean near exp(1/2) times the target.
    assert np.all(bn.moving_mean.numpy() > 1.3 * target_mean)

    others = {w.path: w.numpy() for w in model.weights if not w.path.startswith("bn/moving")}
    used = recalibrate_batch_norm(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(64))

    assert used == 640
    np.testing.assert_allclose(bn.moving_mean.numpy(), target_mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), target_variance, rtol=1e-4)
    assert bn.momentum == 0.9  # restored
    for w in model.weights:
        if w.path in others:
            np.testing.assert_array_equal(w.numpy(), others[w.path])


def test_steps_limits_the_batches_and_unequal_batches_are_weighted():
    x, _ = _data()
    model = _noisy_batch_norm_model()
    dense = model.get_layer("features")
    # 100 examples in batches of 64 and 36: the pooled statistics are exact.
    assert recalibrate_batch_norm(model, tf.data.Dataset.from_tensor_slices(x[:100]).batch(64)) == 100
    noise_free = np.maximum(x[:100] @ dense.kernel.numpy() + dense.bias.numpy(), 0.0)
    np.testing.assert_allclose(model.get_layer("bn").moving_mean.numpy(), noise_free.mean(axis=0), rtol=1e-5)
    assert recalibrate_batch_norm(model, tf.data.Dataset.from_tensor_slices(x).batch(64), steps=2) == 128


def test_recalibration_draws_no_noise_anywhere():
    # All-CNN-32 has input dropout and two information-dropout blocks; with
    # the noise off, two recalibrations give identical statistics.
    model = models.build({"name": "all_cnn_32", "filter_fraction": 0.25, "seed": 0})
    x = np.random.default_rng(1).uniform(size=(64, 32, 32, 3)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(32)
    statistics = [w for w in model.non_trainable_weights if "/moving_" in w.path]
    recalibrate_batch_norm(model, dataset)
    first = [w.numpy() for w in statistics]
    recalibrate_batch_norm(model, dataset)
    second = [w.numpy() for w in statistics]
    assert len(first) == 18  # moving mean and variance of 9 BatchNorm layers
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # ...and they are the statistics of the noise-free network: evaluating
    # in inference mode equals a training-mode pass with batch statistics.
    with layers.suppress_noise():
        batch_mode = model(x, training=True)
    recalibrate_batch_norm(model, tf.data.Dataset.from_tensor_slices(x).batch(64))
    np.testing.assert_allclose(model(x, training=False), batch_mode, rtol=1e-3, atol=1e-4)


def test_callback_recalibrates_before_validation():
    x, y = _data()
    model = _noisy_batch_norm_model()
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    history = model.fit(train, epochs=2, verbose=0, validation_data=train,
                        callbacks=[BatchNormRecalibration(train)]).history
    # The learning rate is 0, so recalibrating now gives the statistics the
    # last validation pass used, if the callback ran before it.
    recalibrate_batch_norm(model, train)
    recalibrated_loss = model.evaluate(train, verbose=0)
    np.testing.assert_allclose(history["val_loss"][-1], recalibrated_loss, rtol=1e-5)
    without_callback = _noisy_batch_norm_model().fit(
        train, epochs=2, verbose=0, validation_data=train).history
    assert abs(without_callback["val_loss"][-1] - recalibrated_loss) > 1e-2
    # evaluate() with the callback recalibrates too.
    model.fit(train, epochs=1, verbose=0)
    np.testing.assert_allclose(
        model.evaluate(train, verbose=0, callbacks=[BatchNormRecalibration(train)]),
        recalibrated_loss, rtol=1e-5,
    )


def test_models_without_batch_norm_are_left_alone():
    model = models.build({"name": "mlp", "width": 8})
    assert recalibrate_batch_norm(model, [np.zeros((2, 28, 28, 1), "float32")]) == 0


def test_bad_steps_are_rejected():
    with pytest.raises(ValueError, match=r"`steps`.*Received: steps=0"):
        recalibrate_batch_norm(_noisy_batch_norm_model(), [], steps=0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_WORKER = textwrap.dedent("""
    import sys
    import keras, numpy as np, tensorflow as tf
    from infodropout_tf.callbacks import recalibrate_batch_norm
    index, output = int(sys.argv[1]), sys.argv[2]
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        inputs = keras.Input((4,))
        features = keras.layers.Dense(
            3, activation="relu", name="features",
            kernel_initializer=keras.initializers.RandomUniform(0.1, 1.0, seed=0))(inputs)
        normalised = keras.layers.BatchNormalization(name="bn")(features)
        model = keras.Model(inputs, keras.layers.Dense(2)(normalised))
    # Different data on each worker, and more of it on worker 0.
    x = np.random.default_rng(index).uniform(size=(96 - 32 * index, 4)).astype("float32")
    used = recalibrate_batch_norm(model, tf.data.Dataset.from_tensor_slices(x).batch(32))
    bn, dense = model.get_layer("bn"), model.get_layer("features")
    np.savez(output, used=used, x=x, mean=bn.moving_mean.numpy(),
             variance=bn.moving_variance.numpy(), kernel=dense.kernel.numpy(),
             bias=dense.bias.numpy())
    """)


@pytest.mark.slow
def test_two_workers_set_the_statistics_of_all_their_examples(tmp_path):
    # Each worker sees other examples; without pooling their statistics
    # would differ (worker 0's mean is over 96 examples, worker 1's over 64).
    ports = [_free_port(), _free_port()]
    processes = []
    for index in range(2):
        cluster = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                   "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(cluster), TF_CPP_MIN_LOG_LEVEL="3")
        processes.append(subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(index), str(tmp_path / f"worker{index}.npz")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for process in processes:
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors[-2000:]
    first, second = (np.load(tmp_path / f"worker{index}.npz") for index in range(2))

    assert int(first["used"]) == int(second["used"]) == 96 + 64
    np.testing.assert_array_equal(first["mean"], second["mean"])
    np.testing.assert_array_equal(first["variance"], second["variance"])
    np.testing.assert_array_equal(first["kernel"], second["kernel"])
    x = np.concatenate([first["x"], second["x"]]).astype("float64")
    noise_free = np.maximum(x @ first["kernel"] + first["bias"], 0.0)
    # float32 batch moments of up to 32 examples, pooled in float64.
    np.testing.assert_allclose(first["mean"], noise_free.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(first["variance"], noise_free.var(axis=0), rtol=1e-4)
    assert not np.allclose(first["mean"], noise_free[:96].mean(axis=0), rtol=1e-3)
