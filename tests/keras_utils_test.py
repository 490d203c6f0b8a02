"""The Keras plumbing of `infodropout_tf.keras_utils`: nested layers, the
network inside a Classifier, graphs of layers and input shapes, sub-models
to a layer's inputs, batch inputs and the per-replica loss scale."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import keras_utils
from infodropout_tf.models.classifier import Classifier


def _nested_network():
    """x -> first -> inner(inner_hidden -> inner_dense) -> last."""
    inner_inputs = keras.Input((4,), name="inner_inputs")
    hidden = keras.layers.Dense(4, name="inner_hidden")(inner_inputs)
    inner = keras.Model(inner_inputs, keras.layers.Dense(3, name="inner_dense")(hidden),
                        name="inner")
    inputs = keras.Input((5,), name="x")
    outputs = keras.layers.Dense(2, name="last")(inner(keras.layers.Dense(4, name="first")(inputs)))
    return keras.Model(inputs, outputs, name="outer")


def _dense(x, layer):
    kernel, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
    return x @ kernel + bias


NESTED = ["first", "inner", "inner_dense", "inner_hidden", "inner_inputs", "last", "x"]


def test_nested_layers_reach_every_depth_once():
    network = _nested_network()
    names = [layer.name for layer in keras_utils.nested_layers(network)]
    assert sorted(names) == NESTED  # each layer once, the inner model's too
    with_self = [layer.name for layer in keras_utils.nested_layers(network, include_self=True)]
    assert with_self[0] == "outer" and sorted(with_self[1:]) == NESTED
    # Around a Classifier the functional network is one of the layers.
    classifier = Classifier(network)
    assert sorted(layer.name for layer in keras_utils.nested_layers(classifier)) == sorted(
        NESTED + ["outer"])


def test_network_of_unwraps_a_classifier_only():
    network = _nested_network()
    assert keras_utils.network_of(Classifier(network)) is network
    assert keras_utils.network_of(network) is network


def test_layer_inputs_model_computes_a_layers_inputs():
    network = _nested_network()
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    inner = network.get_layer("inner")
    # By hand: the input of `last` is the inner model applied to `first`.
    expected = _dense(_dense(_dense(x.astype(np.float64), network.get_layer("first")),
                             inner.get_layer("inner_hidden")), inner.get_layer("inner_dense"))
    for model in (network, Classifier(network)):
        to_last = keras_utils.layer_inputs_model(model, "last")
        np.testing.assert_allclose(to_last(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(keras_utils.layer_inputs_model(network, "first")(x), x)


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="subclassed")
        self.dense = keras.layers.Dense(2)

    def call(self, inputs):
        return self.dense(inputs)


def test_graphs_of_layers_and_single_input_shapes():
    network = _nested_network()
    sequential = keras.Sequential([keras.layers.Dense(2)], name="sequential")
    subclassed = _Subclassed()
    assert keras_utils.has_layer_graph(network) and keras_utils.has_layer_graph(Classifier(network))
    assert not keras_utils.has_layer_graph(sequential)  # no inputs until built
    assert not keras_utils.has_layer_graph(subclassed)
    for unbuilt in (sequential, subclassed, Classifier(network)):
        with pytest.raises(ValueError, match=rf"'{unbuilt.name}' was never built or called"):
            keras_utils.single_input_shape(unbuilt)

    # The batch dimension is None whatever batch built the model.
    sequential(np.zeros((3, 7), "float32"))
    subclassed(np.zeros((3, 6, 2), "float32"))
    assert keras_utils.has_layer_graph(sequential)
    assert keras_utils.single_input_shape(network) == (None, 5)
    assert keras_utils.single_input_shape(sequential) == (None, 7)
    assert keras_utils.single_input_shape(subclassed) == (None, 6, 2)

    a, b = keras.Input((2,)), keras.Input((3,))
    two = keras.Model([a, b], keras.layers.Concatenate()([a, b]), name="two")
    with pytest.raises(ValueError, match=r"'two' takes several inputs"):
        keras_utils.single_input_shape(two)


def test_inputs_of_a_batch_is_its_first_element():
    x, y, weights = np.ones((2, 3)), np.zeros(2), np.full(2, 0.5)
    assert keras_utils.inputs_of((x, y)) is x
    assert keras_utils.inputs_of([x, y, weights]) is x
    assert keras_utils.inputs_of(x) is x
    features = {"image": x}
    assert keras_utils.inputs_of(features) is features


@pytest.mark.parametrize("make_strategy", [
    tf.distribute.get_strategy, lambda: tf.distribute.OneDeviceStrategy("/cpu:0")])
def test_one_replica_leaves_the_loss_unscaled(make_strategy):
    strategy = make_strategy()
    loss = tf.constant(3.0)
    with strategy.scope():
        assert keras_utils.scale_for_replicas(loss) is loss
    per_replica = strategy.run(tf.function(keras_utils.scale_for_replicas), args=(loss,))
    assert strategy.experimental_local_results(per_replica)[0].numpy() == 3.0


def test_two_replicas_each_return_half_the_loss():
    # The two logical CPUs of conftest.py. This strategy runs no collective
    # (no all-reduce), so it cannot collide with distribute_test.py's, the
    # one that fits models in this process.
    strategy = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
    per_replica = strategy.run(tf.function(keras_utils.scale_for_replicas),
                               args=(tf.constant(3.0),))
    # Keras sums the replicas' gradients: the halves add up to the loss.
    assert [float(v) for v in strategy.experimental_local_results(per_replica)] == [1.5, 1.5]
    with strategy.scope():
        assert float(keras_utils.scale_for_replicas(tf.constant(3.0))) == 1.5
