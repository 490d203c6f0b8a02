"""`BetaSchedule`: beta of the KL layers changed during `fit`, and its logs."""

import csv
import math

import keras
import numpy as np
import pytest

from infodropout_tf import layers
from infodropout_tf import models
from infodropout_tf.callbacks import BetaSchedule
from infodropout_tf.callbacks import cosine_schedule
from infodropout_tf.callbacks import linear_schedule

N_TRAIN = 10


def _model():
    """Two information-dropout layers and no other loss: with a learning
    rate of 0 the weights stay fixed, and the log-uniform KL does not depend
    on the noise, so each layer's KL is the same at every step."""
    inputs = keras.Input((5,))
    first = layers.InformationDropout(num_train_examples=N_TRAIN, seed=0, name="first")
    second = layers.InformationDropout(num_train_examples=N_TRAIN, seed=1, name="second")
    model = keras.Model(inputs, second(first(inputs)))
    model.compile(keras.optimizers.SGD(0.0))
    return model


def _features():
    return np.random.default_rng(0).uniform(0.1, 2.0, size=(8, 5)).astype("float32")


def _kls(model, x):
    """Each layer's batch-mean KL, from its own KL map with the noise off
    (the second layer's input is then the first layer's input: both are
    identity maps at inference)."""
    kls = []
    for name in ("first", "second"):
        _, kl_map = model.get_layer(name)(x, training=False, return_kl_map=True)
        kls.append(float(np.mean(np.sum(np.asarray(kl_map), axis=1))))
    return kls


def test_schedules_ramp_to_their_end_and_stay():
    linear = linear_schedule(0.0, 2.0, 4)
    assert [linear(t) for t in (0, 1, 2, 4, 10)] == [0.0, 0.5, 1.0, 2.0, 2.0]
    cosine = cosine_schedule(0.0, 2.0, 4)
    np.testing.assert_allclose([cosine(t) for t in (0, 1, 2, 4, 10)],
                               [0.0, 1 - math.cos(math.pi / 4), 1.0, 2.0, 2.0], atol=1e-12)
    assert linear_schedule(3.0, 1.0, 2)(1) == 2.0  # annealing downwards


def test_beta_changes_every_epoch_without_recompiling_and_the_loss_follows(tmp_path):
    model = _model()
    x = _features()
    first, second = _kls(model, x)
    # The first layer's input holds no noise, so its KL is the same in
    # training; the second one's input is noisy, so only the first one's
    # beta is scheduled and the second's is set to 0.
    model.get_layer("second").beta = 0.0
    functions = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: functions.append(model.train_function))
    log_path = str(tmp_path / "log.csv")
    schedule = BetaSchedule(linear_schedule(0.0, 3.0, 2), layers=["first"])

    history = model.fit(x, epochs=4, batch_size=len(x), verbose=0,
                        callbacks=[schedule, keras.callbacks.CSVLogger(log_path), record])

    betas = [0.0, 1.5, 3.0, 3.0]
    np.testing.assert_allclose(history.history["loss"],
                               [beta * first / N_TRAIN for beta in betas], rtol=1e-5)
    assert history.history["beta_first"] == betas
    assert all(function is functions[0] for function in functions)  # traced once
    with open(log_path) as f:
        rows = list(csv.DictReader(f))
    assert [float(row["beta_first"]) for row in rows] == betas
    assert model.get_layer("first").beta == 3.0  # the last value stays
    assert model.get_layer("second").beta == 0.0  # not named: left alone
    assert second > 0


def test_per_step_schedule_with_a_keras_learning_rate_schedule():
    model = _model()
    x = _features()
    first, _ = _kls(model, x)
    model.get_layer("second").beta = 0.0
    # beta(step) = 0, 1, 2 for steps 0, 1, 2: a PolynomialDecay "decaying"
    # from 0 up to 2 over 2 steps.
    ramp = keras.optimizers.schedules.PolynomialDecay(0.0, 2, end_learning_rate=2.0)
    batch_losses = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_losses.append(logs["loss"]))
    schedule = BetaSchedule(ramp, layers=["first"], per_step=True)

    history = model.fit(np.concatenate([x, x, x]), epochs=1, batch_size=len(x),
                        shuffle=False, verbose=0, callbacks=[schedule, record])

    # Keras logs the running mean of the batch losses.
    kl = first / N_TRAIN
    np.testing.assert_allclose(batch_losses, [0.0, 0.5 * kl, 1.0 * kl], rtol=1e-5, atol=1e-12)
    assert history.history["beta_first"] == [2.0]


def test_every_kl_layer_by_default_logged_as_beta():
    model = _model()
    history = model.fit(_features(), epochs=2, verbose=0,
                        callbacks=[BetaSchedule(lambda epoch: 0.5 * (epoch + 1))])
    assert history.history["beta"] == [0.5, 1.0]
    assert [layer.beta for layer in layers.kl_layers(model)] == [1.0, 1.0]


def test_the_vae_latent_follows_a_warm_up():
    model = models.VAE(input_shape=(4, 4, 1), width_multiplier=1, seed=0, beta=0.5)
    assert model.latent.beta == 0.5 and model.get_config()["beta"] == 0.5
    model.compile(keras.optimizers.Adam(1e-3))
    x = (np.random.default_rng(0).uniform(size=(8, 4, 4, 1)) > 0.5).astype("float32")
    history = model.fit(x, epochs=3, batch_size=8, verbose=0,
                        callbacks=[BetaSchedule(linear_schedule(0.0, 1.0, 2),
                                                layers=["latent"])])
    logs = history.history
    assert logs["beta_latent"] == [0.0, 0.5, 1.0]
    # loss = reconstruction + beta * kl, each the epoch's mean (one batch).
    np.testing.assert_allclose(
        logs["loss"], np.add(logs["reconstruction"], np.multiply([0.0, 0.5, 1.0], logs["kl"])),
        rtol=1e-5)
    assert min(logs["kl"]) > 0


def test_unknown_layers_and_models_without_kl_layers_are_refused():
    model = _model()
    with pytest.raises(ValueError, match=r"\['third'\] are not KL layers of the model .*"
                                         r"its KL layers are \['first', 'second'\]"):
        model.fit(_features(), verbose=0, callbacks=[BetaSchedule(lambda t: 1.0, ["third"])])
    plain = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    plain.compile("sgd", "mse")
    with pytest.raises(ValueError, match="has no layer that adds a KL penalty"):
        plain.fit(_features(), np.zeros(8), verbose=0,
                  callbacks=[BetaSchedule(lambda t: 1.0)])


@pytest.mark.parametrize("value", [-0.5, float("inf"), float("nan")])
def test_a_schedule_value_out_of_range_names_the_epoch(value):
    model = _model()
    with pytest.raises(ValueError, match=r"returned beta=.* for epoch 0; beta must be finite "
                                         r"and >= 0"):
        model.fit(_features(), verbose=0, callbacks=[BetaSchedule(lambda t: value)])
    assert [layer.beta for layer in layers.kl_layers(model)] == [1.0, 1.0]


@pytest.mark.parametrize("kwargs, match", [
    ({"schedule": 1.0}, "argument `schedule`"),
    ({"schedule": abs, "layers": "first"}, "argument `layers`"),
    ({"schedule": abs, "layers": []}, "argument `layers`"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BetaSchedule(**kwargs)
