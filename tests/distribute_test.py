"""tf.distribute: per-replica noise and single-device-equivalent training.

Two replicas run on the two logical CPUs that conftest.py creates.
"""

import keras
import numpy as np
import tensorflow as tf

from infodropout_tf import layers

DEVICES = ["CPU:0", "CPU:1"]


def test_replicas_draw_different_noise():
    strategy = tf.distribute.MirroredStrategy(DEVICES)
    with strategy.scope():
        layer = layers.InformationDropout(seed=1)
        layer.build((None, 32))
    ones = strategy.experimental_distribute_values_from_function(
        lambda context: tf.ones((4, 32))
    )

    @tf.function
    def draw(x):
        return layer(x, training=True)

    first, second = strategy.experimental_local_results(strategy.run(draw, args=(ones,)))
    assert not np.allclose(first, 1.0)
    assert not np.allclose(first, second)


def test_baseline_replicas_draw_different_noise():
    strategy = tf.distribute.MirroredStrategy(DEVICES)
    with strategy.scope():
        layer = layers.BinaryDropout(0.5, seed=1)
    ones = strategy.experimental_distribute_values_from_function(
        lambda context: tf.ones((4, 32))
    )
    first, second = strategy.experimental_local_results(
        strategy.run(tf.function(lambda x: layer(x, training=True)), args=(ones,))
    )
    assert not np.array_equal(first, second)


def _model(max_alpha):
    inputs = keras.Input((10,))
    hidden = keras.layers.Dense(
        16, activation="softplus", kernel_initializer=keras.initializers.GlorotUniform(0)
    )(inputs)
    noisy = layers.InformationDropout(
        max_alpha=max_alpha, prior="log_normal", beta=1.0, num_train_examples=64, seed=2
    )(hidden)
    outputs = keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(1))(noisy)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 10)).astype("float32"), rng.integers(0, 3, size=64)


def test_fit_under_mirrored_strategy_matches_one_device():
    # The replicas draw different noise from the single device, so the runs
    # can only agree up to the noise. With max_alpha tiny, alpha is within
    # 1e-6 of alpha_min = 0.001 and the noise exp(0.001 n) moves activations
    # by about 0.1%; the log-normal KL (about 7 nats per unit at that alpha,
    # 16 units, weight 1/64) stays about 1.8 nats per example, comparable to
    # the cross-entropy (~1.1). A KL term counted once per replica or
    # averaged over the wrong batch would shift the loss by ~1 and fail the
    # 0.1% tolerance below (measured agreement: 1e-5).
    x, y = _data()
    max_alpha = 1e-6

    keras.utils.set_random_seed(0)
    single = _model(max_alpha)
    initial_weights = single.get_weights()
    single_initial_loss = single.evaluate(x, y, batch_size=16, verbose=0)
    single_history = single.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)

    strategy = tf.distribute.MirroredStrategy(DEVICES)
    with strategy.scope():
        mirrored = _model(max_alpha)
        mirrored.set_weights(initial_weights)
    # Without noise (evaluate) both compute the same deterministic loss,
    # cross-entropy plus KL, up to float rounding.
    np.testing.assert_allclose(
        mirrored.evaluate(x, y, batch_size=16, verbose=0), single_initial_loss, rtol=1e-6
    )
    mirrored_history = mirrored.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)

    single_loss = np.asarray(single_history.history["loss"])
    assert single_loss[0] > 2.0  # the KL term is really in the loss
    np.testing.assert_allclose(mirrored_history.history["loss"], single_loss, rtol=1e-3)
    for expected, actual in zip(single.get_weights(), mirrored.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-2, atol=5e-3)
