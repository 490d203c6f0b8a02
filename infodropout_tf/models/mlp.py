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
    regularizer="none",
    regularizer_weight=0.0,
    **noise_options,
):
    """A multilayer perceptron with a dropout block after every hidden layer.

    Paper Fig. 3a: `depth` (3) fully connected hidden layers of `width`
    units (64 to 1024 in the paper), each followed by the chosen noise. In
    the information-dropout block the noise scale is a dense function of the
    block's input, as the convolutional block computes it from its input.

    Args:
        num_classes: Integer.
        input_shape: Shape of one example; it is flattened.
        width: Integer, units per hidden layer.
        depth: Integer, number of hidden layers.
        activation: `"relu"` or `"softplus"`.
        weight_decay: Float, coefficient of sum ||v||^2 / 2.
        noise: Name of the noise (see `blocks.noise_layer`); `"zero_entropy"`
            for the surrogate objectives of Kirsch, Lyle & Gal.
        regularizer: Surrogate information-bottleneck penalty on the
            representation Z the last dropout block, the last hidden layer's
            (`dense<depth>`) output, receives (see
            `Classifier`): `"none"`, `"squared_norm"`, `"log_variance"` or
            `"conditional_log_variance"`.
        regularizer_weight: Finite float >= 0, its weight gamma.
        **noise_options: `max_alpha`, `beta`, `num_train_examples`,
            `dropout_rate`, `constant_alpha`, `seed`.

    Returns:
        A `Classifier`.
    """
    blocks.check_activation(activation)
    _validation.positive_int("width", width)
    _validation.positive_int("depth", depth)
    seeds = blocks.seed_stream(noise_options.pop("seed", None))
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for index in range(1, depth + 1):
        hidden = keras.layers.Dense(width, activation=activation, name=f"dense{index}")(x)
        x = blocks.noise_layer(
            noise, activation, name=f"dropout{index}", seed=next(seeds), **noise_options
        )([hidden, x])
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    network = keras.Model(inputs, logits, name="mlp_network")
    return Classifier(network, weight_decay=weight_decay, surrogate=regularizer,
                      surrogate_weight=regularizer_weight, surrogate_layer=f"dense{depth}",
                      name="mlp")
