"""Per-unit KL maps of a trained model's KL layers (paper Fig. 2 and 7)."""

from infodropout_tf import keras_utils
from infodropout_tf.layers import kl_layers


def kl_map_functions(model, layers=None):
    """{layer name: inputs -> per-unit KL map} for `model`'s KL layers.

    Each function runs the network up to the layer's inputs (noise off) and
    asks the layer for `return_kl_map=True`: the map has the shape of the
    layer's output, one KL(p(z|x) || q(z)) per unit, in nats.

    Args:
        model: A functional model or a `Classifier` around one.
        layers: Layers to map (default: every KL layer of a functional
            network; a subclassed one, such as the VAE, has no sub-model to
            a layer's inputs and gets none).
    """
    network = keras_utils.network_of(model)
    if layers is None:
        if not getattr(network, "inputs", None):
            return {}
        layers = kl_layers(network)

    return {layer.name: KLMapFunction(network, layer) for layer in layers}


class KLMapFunction:
    """inputs -> the KL map of `layer`, through the network up to its inputs.

    Attributes:
        layer: The KL layer.
        to_inputs: The sub-model from the network's inputs to the layer's
            (a SavedModel export tracks it).
    """

    def __init__(self, network, layer):
        self.layer = layer
        self.to_inputs = keras_utils.layer_inputs_model(network, layer.name)

    def __call__(self, inputs):
        return self.layer(self.to_inputs(inputs, training=False), return_kl_map=True)[1]


def kl_maps(model, inputs):
    """{layer name: KL map} of `model`'s KL layers for a batch of `inputs`."""
    return {name: function(inputs) for name, function in kl_map_functions(model).items()}
