"""Keras plumbing the package relies on, in one place.

These helpers reach into Keras internals (`Layer._flatten_layers`,
`Model._build_shapes_dict`) or build sub-models of a trained network; when
Keras changes, this file changes.
They import nothing else of the package, so every module may use them.
"""

import keras
import tensorflow as tf


def nested_layers(model, include_self=False):
    """Every layer inside `model`, at any depth, in Keras's traversal order."""
    return list(model._flatten_layers(include_self=include_self, recursive=True))


def network_of(model):
    """The functional network inside a `Classifier`, or the model itself."""
    return getattr(model, "network", model)


def has_layer_graph(model):
    """Whether the network inside `model` is a graph of layers.

    Functional models, and Sequential ones once built, record how their
    layers connect, so `layer_inputs_model` can reach any top-level layer's
    inputs; a subclassed model's `call` is Python code that Keras cannot
    cut in two.
    """
    return bool(getattr(network_of(model), "inputs", None))


def layer_inputs_model(model, layer_name):
    """A model mapping the network's inputs to the inputs of `layer_name`."""
    network = network_of(model)
    # One input as a tensor, not a list of one: the sub-model is then called
    # on a batch as the network is, without Keras's structure warning.
    inputs = network.inputs[0] if len(network.inputs) == 1 else network.inputs
    return keras.Model(inputs, network.get_layer(layer_name).input)


def single_input_shape(model):
    """The shape of a batch of `model`'s one input, batch dimension None.

    A functional or Sequential network knows it from its inputs; a
    subclassed model from its first call (Keras records the shape it was
    built with in `_build_shapes_dict`).

    Raises:
        ValueError: the model was never built or called, or takes several
            inputs.
    """
    network = network_of(model)
    if has_layer_graph(network):
        shapes = [tuple(tensor.shape) for tensor in network.inputs]
    else:
        shapes = list((getattr(model, "_build_shapes_dict", None) or {}).values())
    if not shapes or not model.built:
        raise ValueError(
            f"Model {model.name!r} was never built or called, so its input shape is unknown; "
            "call it once on a batch (`model(x)`) or start it with `keras.Input`.")
    if len(shapes) > 1 or not all(isinstance(d, (int, type(None))) for d in shapes[0]):
        raise ValueError(
            f"Model {model.name!r} takes several inputs ({shapes}); only models with a single "
            "input tensor are supported.")
    return (None, *shapes[0][1:])


def inputs_of(batch):
    """The inputs `x` of a batch `x` or `(x, y, ...)`, as `fit` reads it."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def scale_for_replicas(loss):
    """Returns loss / number of replicas in sync.

    Keras's TensorFlow trainer sums the gradients of all replicas and
    expects `compute_loss` to return each replica's loss divided by the
    number of replicas (its `Loss` objects and `add_loss` terms are scaled
    that way); the `loss` metric multiplies it back. A `compute_loss` that
    assembles its loss from unscaled parts must scale the total itself.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return loss
    return loss * (1.0 / replicas)
