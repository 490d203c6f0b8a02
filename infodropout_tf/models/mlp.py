"""The fully connected network of the paper's MNIST experiment (Fig. 3a)."""

import keras

from infodropout_tf import _validation
from infodropout_tf.models import blocks
from infodropout_tf.models.classifier import Classifier


def mlp(
    num_classes=10,
    input_shape=(28, 28, 1),
    width=256,
    depth=3,
    activation="relu",
    weight_decay=0.0,
    noise="information",
    surrogate="none",
    surrogate_weight=0.0,
    hidden_units=(),
    noisy_layers="all",
    **noise_options,
):
    """A multilayer perceptron with a dropout block after its hidden layers.

    Paper Fig. 3a: `depth` (3) fully connected hidden layers of `width`
    units (64 to 1024 in the paper), each followed by the chosen noise. In
    the information-dropout block the noise scale is a dense function of the
    block's input, as the convolutional block computes it from its input.
    Adilova, Geiger & Fischer's information-plane network (784-512-128-32-10,
    noise on the penultimate layer only) is `hidden_units=(512, 128, 32)`,
    `noisy_layers="last"`.

    Args:
        num_classes: Integer.
        input_shape: Shape of one example; it is flattened.
        width: Integer, units per hidden layer.
        depth: Integer, number of hidden layers.
        activation: `"relu"` or `"softplus"`.
        weight_decay: Float, coefficient of sum ||v||^2 / 2.
        noise: Name of the noise (see `blocks.noise_layer`); `"zero_entropy"`
            for the surrogate objectives of Kirsch, Lyle & Gal.
        surrogate: Surrogate information-bottleneck penalty of Kirsch, Lyle
            & Gal (`infodropout_tf.surrogates`) on the representation Z the
            last dropout block, the last hidden layer's (`dense<depth>`)
            output, receives (see `Classifier`): `"none"`,
            `"squared_norm"`, `"log_variance"` or
            `"conditional_log_variance"`.
        surrogate_weight: Finite float >= 0, its weight gamma.
        hidden_units: Tuple of integers, the widths of the hidden layers;
            empty (default) for `depth` layers of `width` units.
        noisy_layers: `"all"`: a dropout block after every hidden layer;
            `"last"`: after the last one only (the others are plain dense
            layers).
        **noise_options: `max_alpha`, `beta`, `num_train_examples`,
            `dropout_rate`, `constant_alpha`, `seed`.

    Returns:
        A `Classifier`.
    """
    blocks.check_activation(activation)
    _validation.one_of("noisy_layers", noisy_layers, ("all", "last"))
    if hidden_units:
        widths = [_validation.positive_int("hidden_units", units) for units in hidden_units]
    else:
        widths = [_validation.positive_int("width", width)] * _validation.positive_int(
            "depth", depth)
    seeds = blocks.seed_stream(noise_options.pop("seed", None))
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for index, units in enumerate(widths, start=1):
        hidden = keras.layers.Dense(units, activation=activation, name=f"dense{index}")(x)
        if noisy_layers == "last" and index < len(widths):
            x = hidden
            continue
        x = blocks.noise_layer(
            noise, activation, name=f"dropout{index}", seed=next(seeds), **noise_options
        )([hidden, x])
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    network = keras.Model(inputs, logits, name="mlp_network")
    return Classifier(network, weight_decay=weight_decay, surrogate=surrogate,
                      surrogate_weight=surrogate_weight,
                      surrogate_layer=f"dense{len(widths)}", name="mlp")
