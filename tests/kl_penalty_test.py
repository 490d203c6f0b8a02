"""The KL weighting of the noise layers: beta as a variable, its saving, and
the layer-owned KL metric (`KLPenalty`)."""

import keras
import numpy as np
import pytest

from infodropout_tf import layers
from infodropout_tf import models


def _kl_per_example(layer, features):
    """The layer's batch-mean KL from its own KL map, summed over units."""
    _, kl_map = layer(features, training=False, return_kl_map=True)
    return float(np.mean(np.sum(np.asarray(kl_map), axis=1)))


def _holds(variables, variable):
    return any(v is variable for v in variables)  # `in` compares values


def _features():
    return np.random.default_rng(0).uniform(0.1, 2.0, size=(8, 5)).astype("float32")


@pytest.mark.parametrize("policy", ["float32", "mixed_float16", "mixed_bfloat16"])
def test_beta_is_a_non_trainable_float32_variable_also_under_mixed_precision(policy):
    layer = layers.InformationDropout(beta=0.3, num_train_examples=10, seed=0,
                                      dtype=policy)
    features = _features()
    layer(features)
    assert layer.beta_variable.dtype == "float32"
    assert not layer.beta_variable.trainable
    assert layer.beta_variable.path == f"{layer.name}/beta"
    assert _holds(layer.non_trainable_weights, layer.beta_variable)
    assert not _holds(layer.trainable_weights, layer.beta_variable)
    (penalty,) = layer.losses
    # Not cast to the compute dtype: the added loss stays float32, and
    # 0.3 is float32(0.3), not float16(0.3) (which differs by 7e-5).
    assert penalty.dtype == "float32"
    np.testing.assert_allclose(float(penalty),
                               np.float32(0.3) * _kl_per_example(layer, features) / 10,
                               rtol=1e-6)


def test_assigning_beta_acts_in_an_already_traced_function():
    inputs = keras.Input((5,))
    dropout = layers.InformationDropout(beta=1.0, seed=0, name="dropout")
    model = keras.Model(inputs, dropout(inputs))
    model.compile(keras.optimizers.SGD(0.0))
    features = _features()
    kl = _kl_per_example(dropout, features)

    at_one = model.evaluate(features, verbose=0)
    traced = model.test_function
    dropout.beta = 2.5  # plain attribute assignment, as user code did before
    at_two_and_a_half = model.evaluate(features, verbose=0)

    assert model.test_function is traced  # not traced again
    np.testing.assert_allclose([at_one, at_two_and_a_half], [kl, 2.5 * kl], rtol=1e-6)
    assert dropout.beta == 2.5 and isinstance(dropout.beta, float)
    assert dropout.kl_weight == 2.5


def test_config_holds_the_current_beta_as_a_float():
    layer = layers.GaussianLatent(4, beta=1.0, num_train_examples=50)
    layer.beta = 0.25
    config = layer.get_config()
    assert config["beta"] == 0.25 and type(config["beta"]) is float
    clone = layers.GaussianLatent.from_config(config)
    assert clone.beta == 0.25 and clone.kl_weight == 0.25 / 50


@pytest.mark.parametrize("value", [-1.0, float("nan"), "2", True])
def test_a_bad_beta_is_refused_and_the_variable_kept(value):
    layer = layers.InformationDropout(beta=0.5)
    with pytest.raises(ValueError, match="argument `beta`"):
        layer.beta = value
    assert layer.beta == 0.5


def test_beta_is_saved_with_the_weights_and_restored(tmp_path):
    def model(beta):
        inputs = keras.Input((5,))
        return keras.Model(inputs, layers.InformationDropout(beta=beta, seed=0,
                                                             name="dropout")(inputs))

    trained = model(1.0)
    trained.get_layer("dropout").beta = 0.125
    path = str(tmp_path / "state.weights.h5")  # as the trainer's backup saves
    trained.save_weights(path)
    fresh = model(1.0)
    fresh.load_weights(path)
    assert fresh.get_layer("dropout").beta == 0.125


def test_beta_is_not_weight_decayed_by_the_classifier():
    classifier = models.build({"name": "mlp", "num_classes": 3, "input_shape": (4,),
                               "width": 6, "depth": 1, "beta": 2.0, "weight_decay": 0.1})
    classifier(np.zeros((1, 4), "float32"))
    (dropout,) = layers.kl_layers(classifier)
    assert not _holds(classifier.trainable_weights, dropout.beta_variable)
    before = float(classifier.l2_penalty())
    dropout.beta = 1e6
    assert float(classifier.l2_penalty()) == before


def test_monitor_kl_reports_the_layers_kl_and_leaves_files_unchanged(tmp_path):
    inputs = keras.Input((5,))
    dropout = layers.InformationDropout(seed=0, name="dropout")
    model = keras.Model(inputs, dropout(inputs))
    model.compile(keras.optimizers.SGD(0.0))
    features = _features()
    assert model.metrics_names == ["loss"]

    metric = dropout.monitor_kl()
    assert dropout.monitor_kl() is metric  # created once
    model.test_function = None
    logs = model.evaluate(features, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["kl_dropout"], _kl_per_example(dropout, features),
                               rtol=1e-6)

    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.metrics_names == ["loss"]
    assert [w.path for w in restored.weights] == [w.path for w in model.weights]
