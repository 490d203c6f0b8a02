"""Per-unit KL maps of a model's KL layers (`infodropout_tf.per_unit_kl`)."""

import keras
import numpy as np
import pytest

from infodropout_tf import layers
from infodropout_tf.per_unit_kl import KLMapFunction
from infodropout_tf.layers import kl_layers
from infodropout_tf.per_unit_kl import kl_map_functions
from infodropout_tf.per_unit_kl import kl_maps
from infodropout_tf.models.classifier import Classifier


def _network():
    """dense1 (relu) -> binary dropout -> `first` (log-uniform prior, drop-in)
    -> dense2 (softplus) -> `second` (log-normal prior, block form whose
    alpha reads `first`'s output) -> logits."""
    inputs = keras.Input((6,), name="x")
    hidden = keras.layers.Dense(5, activation="relu", name="dense1")(inputs)
    hidden = layers.BinaryDropout(0.5, seed=0, name="binary")(hidden)
    first = layers.InformationDropout(seed=1, name="first")(hidden)
    features = keras.layers.Dense(4, activation="softplus", name="dense2")(first)
    second = layers.InformationDropout(prior="log_normal", seed=2, name="second")(
        [features, first])
    return keras.Model(inputs, keras.layers.Dense(3, name="logits")(second))


def _dense(x, layer):
    kernel, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
    return x @ kernel + bias


def _alpha(block_inputs, layer):
    """alpha = 0.001 + max_alpha * sigmoid(g(block inputs)) (paper Eq. 5)."""
    return 0.001 + layer.max_alpha / (1 + np.exp(-_dense(block_inputs, layer.alpha_branch)))


def test_kl_layers_are_the_kl_penalty_layers_in_order():
    network = _network()
    assert [layer.name for layer in kl_layers(network)] == ["first", "second"]
    inputs = keras.Input((6,))
    latent = layers.GaussianLatent(2, name="latent")(layers.GaussianDropout(0.3)(inputs))
    assert [layer.name for layer in kl_layers(keras.Model(inputs, latent))] == ["latent"]


def test_kl_maps_are_the_layers_own_maps_of_their_deterministic_inputs():
    network = _network()
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    maps = kl_maps(network, x)
    assert sorted(maps) == ["first", "second"]

    # The layers' inputs by hand, with every noise layer off.
    first, second = network.get_layer("first"), network.get_layer("second")
    hidden = np.maximum(_dense(x.astype(np.float64), network.get_layer("dense1")), 0.0)
    features = np.logaddexp(0.0, _dense(hidden, network.get_layer("dense2")))  # softplus
    float32 = lambda a: a.astype("float32")  # noqa: E731
    np.testing.assert_allclose(maps["first"], first(float32(hidden), return_kl_map=True)[1],
                               rtol=1e-5)
    np.testing.assert_allclose(
        maps["second"], second([float32(features), float32(hidden)], return_kl_map=True)[1],
        rtol=1e-5)

    # And the closed forms of the two priors (DESIGN.md), unit by unit.
    log_uniform = np.log(first.max_alpha + 0.001) - np.log(_alpha(hidden, first))
    np.testing.assert_allclose(maps["first"], log_uniform, rtol=1e-5)
    alpha = _alpha(hidden, second)
    mu, sigma = float(second.prior.mu), float(second.prior.sigma)
    log_f = np.log(np.maximum(features, 1e-4))
    log_normal = (0.5 * ((alpha / sigma) ** 2 + (log_f - mu) ** 2 / sigma**2 - 1)
                  + np.log(sigma) - np.log(alpha))
    np.testing.assert_allclose(maps["second"], log_normal, rtol=1e-5)

    # Around a Classifier the maps are the network's.
    wrapped = kl_maps(Classifier(network), x)
    for name in maps:
        np.testing.assert_array_equal(wrapped[name], maps[name])


def test_kl_maps_of_chosen_layers_are_numpy_in_the_order_asked():
    network = _network()
    x = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    maps = kl_maps(network, x, layers=["second", "first"])
    assert list(maps) == ["second", "first"]
    assert all(isinstance(m, np.ndarray) and m.dtype == np.float32 for m in maps.values())
    assert maps["second"].shape == (3, 4) and maps["first"].shape == (3, 5)
    np.testing.assert_array_equal(maps["first"], kl_maps(network, x)["first"])


def test_kl_map_functions_split_into_the_layers_inputs_and_its_map():
    network = _network()
    second = network.get_layer("second")
    functions = kl_map_functions(network, ["second"])
    assert list(functions) == ["second"]
    assert isinstance(functions["second"], KLMapFunction)
    assert functions["second"].layer is second
    x = np.ones((2, 6), "float32")
    layer_inputs = functions["second"].layer_inputs(x)
    assert [tuple(t.shape) for t in layer_inputs] == [(2, 4), (2, 5)]  # [features, block inputs]
    np.testing.assert_array_equal(functions["second"].from_layer_inputs(layer_inputs),
                                  functions["second"](x))


def test_kl_maps_of_a_sequential_model_built_by_a_call():
    model = keras.Sequential([keras.layers.Dense(5, activation="relu", name="dense"),
                              layers.InformationDropout(seed=0, name="noise")])
    model(np.zeros((2, 3), "float32"))  # built for a batch of 2; maps take any batch
    x = np.random.default_rng(2).normal(size=(7, 3)).astype("float32")
    hidden = np.maximum(_dense(x.astype(np.float64), model.get_layer("dense")), 0.0)
    expected = model.get_layer("noise")(hidden.astype("float32"), return_kl_map=True)[1]
    # The hidden layer is computed here in float64, by the model in float32:
    # a few float32 roundings apart (observed 1.7e-6 relative, where KL ~ 0.05).
    np.testing.assert_allclose(kl_maps(model, x)["noise"], expected, rtol=1e-5)


def test_models_without_a_graph_to_the_layer_and_bad_names_are_refused():
    x = np.ones((2, 6), "float32")

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.noise = layers.InformationDropout(seed=0)

        def call(self, inputs):
            return self.noise(inputs)

    model = Subclassed()
    model(x)
    with pytest.raises(ValueError, match=r"Subclassed 'subclassed' has no graph of layers"):
        kl_maps(model, x)
    unbuilt = keras.Sequential([layers.InformationDropout(seed=0)])
    with pytest.raises(ValueError, match="has no graph of layers"):
        kl_map_functions(unbuilt)

    network = _network()
    with pytest.raises(ValueError, match=r"\['dense1'\] are not KL layers .* its KL layers are "
                                         r"\['first', 'second'\]"):
        kl_maps(network, x, layers=["dense1"])
    with pytest.raises(ValueError, match=r"argument `layers`.*Received: layers='first'"):
        kl_maps(network, x, layers="first")

    # A KL layer inside a nested functional sub-model is not on the
    # network's own graph.
    inner_inputs = keras.Input((6,))
    inner = keras.Model(inner_inputs, layers.InformationDropout(seed=0, name="inner_noise")(
        inner_inputs), name="inner")
    inputs = keras.Input((6,))
    outer = keras.Model(inputs, inner(inputs), name="outer")
    with pytest.raises(ValueError, match="'inner_noise' is inside a sub-model of 'outer'"):
        kl_maps(outer, x)
