"""Keras plumbing the package relies on, in one place.

These helpers reach into Keras internals (`Layer._flatten_layers`) or build
sub-models of a trained network; when Keras changes, this file changes.
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


def layer_inputs_model(model, layer_name):
    """A model mapping the network's inputs to the inputs of `layer_name`."""
    network = network_of(model)
    return keras.Model(network.inputs, network.get_layer(layer_name).input)


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
