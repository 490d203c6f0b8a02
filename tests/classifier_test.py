"""The Classifier objective: CE + beta * KL / N + wd * L2, and its metrics."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import models

BETA, N_TRAIN, WEIGHT_DECAY = 3.0, 1000, 0.01


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _fixed_batch():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(16, 6, 6, 1)).astype("float32"), rng.integers(0, 4, size=16)


def _model():
    model = models.build({
        "name": "mlp", "num_classes": 4, "input_shape": (6, 6, 1), "width": 8,
        "beta": BETA, "num_train_examples": N_TRAIN, "weight_decay": WEIGHT_DECAY, "seed": 0,
    })
    model.compile(keras.optimizers.SGD(0.1))
    return model


def _hand_computed_parts(model, x, y):
    """Forward pass in numpy from the weights: returns CE, KLs, L2/2, logits."""
    net = model.network
    h = x.reshape(len(x), -1)
    kls = []
    for index in (1, 2, 3):
        dense = net.get_layer(f"dense{index}")
        features = np.maximum(h @ dense.kernel.numpy() + dense.bias.numpy(), 0.0)
        branch = net.get_layer(f"dropout{index}").alpha_branch
        alpha = 0.001 + 0.7 * _sigmoid(h @ branch.kernel.numpy() + branch.bias.numpy())
        kls.append(np.mean(np.sum(-np.log(alpha / 0.701), axis=1)))
        h = features  # deterministic pass: no noise
    logits_layer = net.get_layer("logits")
    logits = h @ logits_layer.kernel.numpy() + logits_layer.bias.numpy()
    cross_entropy = -np.mean(np.log(_softmax(logits)[np.arange(len(y)), y]))
    l2 = 0.5 * sum(np.sum(np.square(w.numpy())) for w in model.trainable_weights)
    return cross_entropy, kls, l2, logits


def test_loss_is_cross_entropy_plus_scaled_kl_plus_weight_decay():
    model = _model()
    x, y = _fixed_batch()
    y_pred = model(x, training=False)
    loss = float(model.compute_loss(x, y, y_pred, training=False))

    cross_entropy, kls, l2, logits = _hand_computed_parts(model, x, y)
    np.testing.assert_allclose(y_pred, logits, rtol=1e-4, atol=1e-5)
    expected = cross_entropy + BETA * sum(kls) / N_TRAIN + WEIGHT_DECAY * l2
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    # Each part matters at this scale: drop any and the total is off.
    assert BETA * sum(kls) / N_TRAIN > 1e-3 and WEIGHT_DECAY * l2 > 1e-3


def test_evaluate_reports_each_part():
    model = _model()
    x, y = _fixed_batch()
    results = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    cross_entropy, kls, l2, logits = _hand_computed_parts(model, x, y)

    assert set(results) == {"loss", "cross_entropy", "weight_decay", "error",
                            "kl_dropout1", "kl_dropout2", "kl_dropout3"}
    np.testing.assert_allclose(results["cross_entropy"], cross_entropy, rtol=1e-5)
    np.testing.assert_allclose(results["weight_decay"], WEIGHT_DECAY * l2, rtol=1e-5)
    for index, kl in enumerate(kls, start=1):
        # Reported unweighted, in nats per example.
        np.testing.assert_allclose(results[f"kl_dropout{index}"], kl, rtol=1e-5)
    np.testing.assert_allclose(results["error"], np.mean(logits.argmax(axis=1) != y), atol=1e-7)
    np.testing.assert_allclose(
        results["loss"],
        cross_entropy + BETA * sum(kls) / N_TRAIN + WEIGHT_DECAY * l2,
        rtol=1e-5,
    )


def test_weight_decay_covers_alpha_branches_and_prior_parameters():
    model = models.build({"name": "mlp", "width": 8, "activation": "softplus",
                          "weight_decay": 0.1})
    paths = {w.path for w in model.trainable_weights}
    assert any("alpha_branch" in p for p in paths)
    assert any(p.endswith("prior/mu") for p in paths)
    mu = next(w for w in model.trainable_weights if w.path == "dropout1/prior/mu")
    before = float(model.l2_penalty())
    mu.assign(3.0)
    np.testing.assert_allclose(float(model.l2_penalty()) - before, 0.5 * 9.0, rtol=1e-5)


def test_negative_weight_decay_is_rejected():
    with pytest.raises(ValueError, match=r"weight_decay.*Received: weight_decay=-1"):
        models.build({"name": "mlp", "weight_decay": -1})


@pytest.mark.parametrize("sample_weight", [None, np.zeros((0,), "float32")])
def test_empty_batch_loss_is_exactly_the_weight_decay(sample_weight):
    # Cross-entropy and KL means over no examples are 0 (as Keras's own
    # losses define them), not 0 / 0: the loss is the weight decay alone.
    model = _model()
    x, y = np.zeros((0, 6, 6, 1), "float32"), np.zeros((0,), "int64")
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = model.compute_loss(x, y, logits, sample_weight=sample_weight)
    assert logits.shape == (0, 4)
    assert [float(term) for term in model.losses] == [0.0] * len(model.kl_layers)
    np.testing.assert_allclose(float(loss), WEIGHT_DECAY * float(model.l2_penalty()), rtol=1e-6)
    gradients = tape.gradient(loss, model.trainable_weights)
    assert all(np.all(np.isfinite(g)) for g in gradients)


def test_zero_sample_weights_give_a_zero_cross_entropy():
    model = _model()
    x, y = _fixed_batch()
    logits = model(x)
    model.compute_loss(x, y, logits, sample_weight=np.zeros(len(x), "float32"))
    assert float(model.cross_entropy_tracker.result()) == 0.0


@pytest.mark.parametrize("weight_decay", [float("inf"), float("nan"), True])
def test_non_finite_and_boolean_weight_decay_is_rejected(weight_decay):
    with pytest.raises(ValueError, match=rf"`weight_decay`\..*"
                                         rf"Received: weight_decay={weight_decay!r}$"):
        models.build({"name": "mlp", "weight_decay": weight_decay})


# Surrogate IB objectives (Kirsch, Lyle & Gal) --------------------------------------

GAMMA = 0.5


def _surrogate_model(surrogate, weight=GAMMA):
    model = models.build({
        "name": "mlp", "num_classes": 4, "input_shape": (6, 6, 1), "width": 8,
        "noise": "zero_entropy", "surrogate": surrogate, "surrogate_weight": weight,
        "seed": 0,
    })
    model.compile(keras.optimizers.SGD(0.1))
    return model


def _class_dependent_batch():
    x, y = _fixed_batch()
    # Inputs shifted by class, so Z's means depend on the class.
    return x + y[:, None, None, None].astype("float32"), y


def _representation_and_logits(model, x):
    """Noise-free dense3 output Z and logits, in numpy from the weights."""
    net, h = model.network, x.reshape(len(x), -1)
    for index in (1, 2, 3):
        dense = net.get_layer(f"dense{index}")
        h = np.maximum(h @ dense.kernel.numpy() + dense.bias.numpy(), 0.0)
    logits_layer = net.get_layer("logits")
    return h, h @ logits_layer.kernel.numpy() + logits_layer.bias.numpy()


def _entropy_bound(z):
    # sum_j 1/2 log(2 pi e Var[Z_j] + 1) (surrogates.py).
    return np.sum(0.5 * np.log(2 * np.pi * np.e * z.var(axis=0) + 1))


def test_the_surrogate_metric_is_the_penalty_on_the_last_hidden_layer():
    keras.utils.set_random_seed(0)
    x, y = _class_dependent_batch()
    values, weights = {}, _surrogate_model("none").get_weights()
    for surrogate in ("squared_norm", "log_variance", "conditional_log_variance"):
        model = _surrogate_model(surrogate)
        model.set_weights(weights)  # the same Z for all three
        results = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
        z, logits = _representation_and_logits(model, x)
        expected = {
            "squared_norm": np.mean(np.sum(z**2, axis=1)),
            "log_variance": _entropy_bound(z),
            "conditional_log_variance": sum(
                np.mean(y == c) * _entropy_bound(z[y == c]) for c in range(4)),
        }[surrogate]
        cross_entropy = -np.mean(np.log(_softmax(logits)[np.arange(len(y)), y]))
        assert model.surrogate_layer == "dense3"
        np.testing.assert_allclose(results["surrogate"], expected, rtol=1e-4)
        np.testing.assert_allclose(results["loss"], cross_entropy + GAMMA * expected, rtol=1e-5)
        assert GAMMA * expected > 0.05  # large enough that a missing term shows
        values[surrogate] = results["surrogate"]
    # Class-dependent means: within classes Z varies much less (0.39 against
    # 1.28 nats here; by the law of total variance it is never more).
    assert values["conditional_log_variance"] < 0.7 * values["log_variance"]


def test_surrogate_none_keeps_the_original_loss_and_metrics():
    x, y = _fixed_batch()
    plain = _model()
    with_none = models.build({
        "name": "mlp", "num_classes": 4, "input_shape": (6, 6, 1), "width": 8, "beta": BETA,
        "num_train_examples": N_TRAIN, "weight_decay": WEIGHT_DECAY, "seed": 0,
        "surrogate": "none", "surrogate_weight": 5.0})
    with_none.compile(keras.optimizers.SGD(0.1))
    with_none.set_weights(plain.get_weights())
    first = plain.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    second = with_none.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert first == second and "surrogate" not in second
    cross_entropy, kls, l2, _ = _hand_computed_parts(with_none, x, y)
    np.testing.assert_allclose(
        second["loss"], cross_entropy + BETA * sum(kls) / N_TRAIN + WEIGHT_DECAY * l2, rtol=1e-5)


def test_the_surrogate_shares_the_weights_and_sees_the_forward_passs_z():
    keras.utils.set_random_seed(0)
    model = _surrogate_model("squared_norm")
    assert [w.path for w in model.weights] == [w.path for w in _surrogate_model("none").weights]
    x, y = _fixed_batch()
    logits = model(x, training=True)
    kept = model.surrogate_representation(x, logits, training=True)
    assert kept is model._forward.representation
    # Another y_pred gets a new pass, whose upstream noise differs.
    fresh = model.surrogate_representation(x, tf.identity(logits), training=True)
    assert not np.allclose(fresh, kept)
    # Training on the penalty alone (gamma large) shrinks ||Z||^2.
    heavy = _surrogate_model("squared_norm", weight=10.0)
    before = heavy.evaluate(x, y, verbose=0, return_dict=True)["surrogate"]
    heavy.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert heavy.evaluate(x, y, verbose=0, return_dict=True)["surrogate"] < 0.5 * before


@pytest.mark.parametrize("kwargs, expected", [
    ({"surrogate": "l2"}, "Invalid value received for argument `surrogate`. Expected one of "
     "['none', 'squared_norm', 'log_variance', 'conditional_log_variance']. "
     "Received: surrogate='l2'"),
    ({"surrogate": "squared_norm", "surrogate_layer": "dense9"},
     "Invalid value received for argument `surrogate_layer`. Expected the name of a layer of "
     "the functional network, one of ['input', 'dense', 'logits']. "
     "Received: surrogate_layer='dense9'"),
    ({"surrogate": "squared_norm", "surrogate_weight": -1.0},
     "Invalid value received for argument `surrogate_weight`. Expected"),
])
def test_bad_surrogate_arguments_are_one_line(kwargs, expected):
    inputs = keras.Input((3,), name="input")
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    network = keras.Model(inputs, keras.layers.Dense(2, name="logits")(hidden))
    with pytest.raises(ValueError) as raised:
        models.Classifier(network, **{"surrogate_layer": "dense", **kwargs})
    assert str(raised.value).startswith(expected) and "\n" not in str(raised.value)
