"""tf.distribute: per-replica noise and single-device-equivalent training.

Two replicas run on the two logical CPUs that conftest.py creates.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf.training.distributed_fit import fit_distributed

DEVICES = ["CPU:0", "CPU:1"]


@pytest.fixture(scope="module")
def strategy():
    # One strategy for the whole module: fitting under two MirroredStrategy
    # instances in one process makes their collective instance keys collide.
    return tf.distribute.MirroredStrategy(DEVICES)


def test_replicas_draw_different_noise(strategy):
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


def test_baseline_replicas_draw_different_noise(strategy):
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


def test_fit_under_mirrored_strategy_matches_one_device(strategy):
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


def test_classifier_metrics_under_mirrored_strategy_match_one_device(strategy):
    # As above, max_alpha tiny makes the noise negligible; the per-layer KL
    # metrics, the weight decay and the error must agree with one device.
    x, y = _data()
    x = x.reshape(64, 10, 1, 1)
    config = {"name": "mlp", "num_classes": 3, "input_shape": (10, 1, 1), "width": 16,
              "activation": "softplus", "max_alpha": 1e-6, "beta": 1.0,
              "num_train_examples": 64, "weight_decay": 1e-3, "seed": 0}

    keras.utils.set_random_seed(0)
    single = models.build(config)
    single.compile(keras.optimizers.SGD(0.05))
    single(x[:2])
    initial_weights = single.get_weights()
    single_history = single.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history

    with strategy.scope():
        mirrored = models.build(config)
        mirrored.compile(keras.optimizers.SGD(0.05))
        mirrored(x[:2])
        mirrored.set_weights(initial_weights)
    mirrored_history = mirrored.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history

    assert set(single_history) == {"loss", "cross_entropy", "weight_decay", "error",
                                   "kl_dropout1", "kl_dropout2", "kl_dropout3"}
    assert single_history["kl_dropout1"][0] > 50  # about 7 nats x 16 units
    for key, values in single_history.items():
        np.testing.assert_allclose(mirrored_history[key], values, rtol=1e-3, atol=1e-6,
                                   err_msg=key)


def _fit_custom_loop(model, strategy, x, y, steps, batch_size=16):
    """`steps` training steps of the trainer's mirrored / multi-worker loop."""
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    history = keras.callbacks.History()
    fit_distributed(model, strategy, data, data, epochs=1, initial_epoch=0,
                    steps_per_epoch=steps, validation_steps=1, callbacks=[history])
    return history.history


class _HostDoubling(keras.layers.Layer):
    """x * 2 computed in Python (`tf.numpy_function`), which XLA cannot compile."""

    def call(self, inputs):
        doubled = tf.numpy_function(lambda a: a * 2, [inputs], tf.float32)
        return tf.ensure_shape(doubled, inputs.shape)


def test_custom_loop_compiles_the_replica_step_with_xla_when_asked(strategy):
    x, y = _data()
    for jit_compile in (False, True):
        with strategy.scope():
            inputs = keras.Input((10,))
            model = keras.Model(inputs, keras.layers.Dense(3)(_HostDoubling()(inputs)))
            model.compile(keras.optimizers.SGD(0.05),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          jit_compile=jit_compile)
        if not jit_compile:
            assert np.isfinite(_fit_custom_loop(model, strategy, x, y, steps=2)["loss"][0])
        else:
            # Only a step handed to XLA meets the op it cannot compile.
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match="unsupported operations when trying to compile"):
                _fit_custom_loop(model, strategy, x, y, steps=2)


def _dense_model(jit_compile):
    """Dense -> Dense with a Keras loss: cheap to compile with XLA."""
    inputs = keras.Input((10,))
    hidden = keras.layers.Dense(
        16, activation="softplus", kernel_initializer=keras.initializers.GlorotUniform(0))(inputs)
    model = keras.Model(
        inputs, keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(1))(hidden))
    model.compile(keras.optimizers.SGD(0.5),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    return model


def test_custom_loop_with_xla_trains_as_without(strategy):
    x, y = _data()
    trained = {}
    for jit_compile in (False, True):
        with strategy.scope():
            model = _dense_model(jit_compile)
        initial = model.get_weights()
        trained[jit_compile] = (_fit_custom_loop(model, strategy, x, y, steps=4),
                                model.get_weights())
    (plain_history, plain), (jit_history, jit) = trained[False], trained[True]
    assert set(plain_history) == {"loss", "val_loss"}
    # No noise: the two differ by float32 rounding only (measured: equal
    # losses, weights within 6e-8).
    for key, values in plain_history.items():
        np.testing.assert_allclose(jit_history[key], values, rtol=1e-5, err_msg=key)
    assert np.abs(plain[0] - initial[0]).max() > 1e-2  # trained
    for expected, actual in zip(plain, jit):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_custom_loop_scales_the_loss_under_mixed_float16(strategy):
    # Under mixed_float16 `compile` wraps SGD in a LossScaleOptimizer, which
    # divides the gradients by its scale (2^15): unless the loop takes them
    # of the scaled loss, the weights barely move. Keras's own `fit` on one
    # device is the reference; the noise is made negligible as above, the
    # KL term stays at full strength.
    x, y = _data()
    x = x.reshape(64, 10, 1, 1)
    config = {"name": "mlp", "num_classes": 3, "input_shape": (10, 1, 1), "width": 16,
              "depth": 1, "activation": "softplus", "max_alpha": 1e-6, "beta": 1.0,
              "num_train_examples": 64, "seed": 0}
    keras.config.set_dtype_policy("mixed_float16")  # conftest restores float32
    single = models.build(config)
    single.compile(keras.optimizers.SGD(0.05))
    single(x[:2])
    initial = single.get_weights()
    expected = single.fit(x[:48], y[:48], batch_size=16, epochs=1, shuffle=False,
                          verbose=0).history
    with strategy.scope():
        mirrored = models.build(config)
        mirrored.compile(keras.optimizers.SGD(0.05))
        mirrored(x[:2])
    mirrored.set_weights(initial)
    assert isinstance(mirrored.optimizer, keras.optimizers.LossScaleOptimizer)
    assert mirrored.network.get_layer("dense1").compute_dtype == "float16"
    history = _fit_custom_loop(mirrored, strategy, x, y, steps=3)

    # float16 activations: about 1e-3 relative rounding per step; without
    # the scaling the cross-entropy is off by 7%.
    for key, values in expected.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-2, err_msg=key)
    kernel_change = single.get_weights()[0] - initial[0]
    assert np.abs(kernel_change).max() > 1e-2
    np.testing.assert_allclose(mirrored.get_weights()[0] - initial[0], kernel_change,
                               atol=0.05 * np.abs(kernel_change).max())


def _surrogate_mlp(surrogate, jit_compile=False):
    """MLP with zero-entropy noise after every hidden layer and a surrogate
    penalty on the last one, Z = dense3, which noise comes before."""
    model = models.build({
        "name": "mlp", "num_classes": 3, "input_shape": (10, 1, 1), "width": 8,
        "noise": "zero_entropy", "surrogate": surrogate, "surrogate_weight": 0.5,
        "seed": 0})
    model.compile(keras.optimizers.SGD(0.05), jit_compile=jit_compile)
    return model


def test_each_replica_penalises_the_z_of_its_own_forward_pass(strategy):
    # Noise comes before Z, so a second pass (the fallback of
    # `surrogate_representation`) would penalise another Z than the one the
    # logits came from. Under two replicas, in Keras's fit and in the
    # trainer's loop with and without XLA (Keras's own fit cannot compile a
    # mirrored step with XLA), every loss must find its own pass's Z.
    x, y = _data()
    x = x.reshape(64, 10, 1, 1)
    for jit_compile in (False, True):
        with strategy.scope():
            model = _surrogate_mlp("squared_norm", jit_compile)
        own_pass = []
        original = model.surrogate_representation

        def spy(x, y_pred, training=False):
            kept = model._forward.representation
            representation = original(x, y_pred, training)
            own_pass.append(model._forward.logits is y_pred and representation is kept)
            return representation

        model.surrogate_representation = spy
        if not jit_compile:
            model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        _fit_custom_loop(model, strategy, x, y, steps=2)
        # Traced once per replica for each train and validation step.
        assert len(own_pass) >= 4 and all(own_pass), (jit_compile, own_pass)


def test_replicas_compute_the_batch_penalties_on_their_share_of_the_batch(strategy):
    # log_variance is a batch statistic: with two replicas each computes it
    # on its half of the global batch and the metric averages the halves, so
    # a mirrored batch of 16 reads as one device's batches of 8.
    x, y = _data()
    x = x.reshape(64, 10, 1, 1)
    keras.utils.set_random_seed(0)
    single = _surrogate_mlp("log_variance")
    single(x[:2])
    with strategy.scope():
        mirrored = _surrogate_mlp("log_variance")
        mirrored(x[:2])
        mirrored.set_weights(single.get_weights())

    def surrogate(model, batch_size):
        return model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)["surrogate"]

    halves, whole = surrogate(single, 8), surrogate(single, 16)
    assert abs(halves - whole) > 0.05  # the batch size matters to this penalty
    np.testing.assert_allclose(surrogate(mirrored, 16), halves, rtol=1e-5)
