"""Per-unit KL maps of a trained model's KL layers (paper Fig. 2 and 7).

A KL layer (`InformationDropout`, `GaussianLatent`) called with
`return_kl_map=True` also returns KL(p(z|x) || q(z)) of every unit, the
term of the information-bottleneck loss (Achille & Soatto, TPAMI 2018,
Eq. 3) before its sum over units: how much each unit tells about the
input. `kl_maps` computes these maps for a batch of a model's inputs, and
`kl_map_functions` the functions behind it, which the SavedModel export,
the analysis callback, the bounds on I(X; Z) and the reports all use.
"""

import keras

from infodropout_tf import _validation
from infodropout_tf import keras_utils
from infodropout_tf.layers import kl_layers


def kl_map_functions(model, layers=None):
    """{layer name: inputs -> per-unit KL map} for `model`'s KL layers.

    Each function runs the network up to the layer's inputs with the noise
    off and asks the layer for `return_kl_map=True` (`KLMapFunction`).

    Args:
        model: A functional or (built) Sequential model, or a `Classifier`
            around one.
        layers: Sequence of names of KL layers, or None for every KL layer
            of the model, in its layer order.

    Returns:
        A dict of `KLMapFunction`s, in the order of `layers`.

    Raises:
        ValueError: the model is subclassed (or a Sequential model never
            built), so no graph reaches a layer's inputs; a name is not one
            of the model's KL layers; a KL layer sits inside a nested
            sub-model.
    """
    network = keras_utils.network_of(model)
    if not keras_utils.has_layer_graph(network):
        raise ValueError(
            f"kl_maps needs a functional or built Sequential model to reach a layer's inputs, "
            f"but {type(network).__name__} {network.name!r} has no graph of layers (a subclassed "
            "model, or a Sequential one never called); call the layer with return_kl_map=True "
            "on its inputs instead.")
    chosen = kl_layers(network, _validation.names("layers", layers))
    top_level = {id(layer) for layer in network.layers}
    for layer in chosen:
        if id(layer) not in top_level:
            raise ValueError(
                f"KL layer {layer.name!r} is inside a sub-model of {network.name!r}, which "
                "kl_maps cannot reach; apply the sub-model's layers directly in the model.")
    return {layer.name: KLMapFunction(network, layer) for layer in chosen}


class KLMapFunction:
    """inputs -> the KL map of `layer`, through the network up to its inputs.

    Calling it is `from_layer_inputs(layer_inputs(inputs))`; the two halves
    serve callers that also need the layer's inputs (its features, its
    noise scales).

    Args:
        network: A functional network holding `layer` at its top level.
        layer: A KL layer of `network`.

    Attributes:
        layer: The KL layer.
        to_inputs: The sub-model from the network's inputs to the layer's
            (a SavedModel export tracks it).
    """

    def __init__(self, network, layer):
        self.layer = layer
        self.to_inputs = keras_utils.layer_inputs_model(network, layer.name)

    def layer_inputs(self, inputs):
        """The layer's inputs for a batch of the network's, noise off."""
        return self.to_inputs(inputs, training=False)

    def from_layer_inputs(self, layer_inputs):
        """The layer's float32 per-unit KL map (shape of its output), in nats."""
        return self.layer(layer_inputs, return_kl_map=True)[1]

    def __call__(self, inputs):
        return self.from_layer_inputs(self.layer_inputs(inputs))


def kl_maps(model, inputs, layers=None):
    """Per-unit KL maps of `model`'s KL layers for a batch of inputs.

    The map of a layer is KL(p(z|x) || q(z)) of each of its units for each
    example, in nats (Achille & Soatto, TPAMI 2018, Eq. 3 before the sum
    over units; Fig. 2 draws its channel sum). It is the layer's own
    `return_kl_map=True` output, computed from the layer's inputs with
    every noise layer off (as at inference). With the improper log-uniform
    prior (ReLU) the KL is defined up to a constant per unit: only its
    differences across units and inputs are meaningful.

    Example:

    ```python
    maps = infodropout_tf.kl_maps(model, images[:8])
    heatmap = maps["dropout1"].sum(axis=-1)  # (8, height, width)
    ```

    Args:
        model: A functional or (built) Sequential model, or a `Classifier`
            around one.
        inputs: A batch of the model's inputs (numpy array or tensor).
        layers: Sequence of names of KL layers, or None for all of them.

    Returns:
        A dict {layer name: float32 numpy array} in the order of `layers`
        (default: the model's layer order), each of the layer's output
        shape.

    Raises:
        ValueError: as `kl_map_functions` (a subclassed model, a name that
            is not a KL layer of the model).
    """
    return {name: keras.ops.convert_to_numpy(function(inputs))
            for name, function in kl_map_functions(model, layers).items()}
