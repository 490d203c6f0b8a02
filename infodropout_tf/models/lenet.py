"""LeNet-5 with a dropout block on the penultimate layer."""

import keras

from infodropout_tf.models import blocks
from infodropout_tf.models.classifier import Classifier


def lenet(
    num_classes=10,
    input_shape=(28, 28, 1),
    activation="relu",
    weight_decay=0.0,
    noise="information",
    surrogate="none",
    surrogate_weight=0.0,
    **noise_options,
):
    """LeNet-5 (LeCun et al. 1998) for information-plane experiments.

    5x5 convolutions of 6 ("same") and 16 ("valid") filters, each followed
    by 2x2 max pooling, then dense layers of 120 and 84 units; the 84-unit
    penultimate layer is the representation studied in information-plane
    analyses of dropout (Adilova, Geiger & Fischer, ICLR 2023) and carries
    the dropout block, whose information-dropout noise scale is computed
    from the 120-unit block input.

    Args:
        num_classes: Integer.
        input_shape: Tuple (height, width, channels).
        activation: `"relu"` or `"softplus"`.
        weight_decay: Float, coefficient of sum ||v||^2 / 2.
        noise: Name of the noise (see `blocks.noise_layer`); `"zero_entropy"`
            for the surrogate objectives of Kirsch, Lyle & Gal.
        surrogate: Surrogate information-bottleneck penalty of Kirsch, Lyle
            & Gal (`infodropout_tf.surrogates`) on the representation Z the
            penultimate dropout block, the 84-unit `dense2` output, receives
            (see `Classifier`): `"none"`, `"squared_norm"`, `"log_variance"`
            or `"conditional_log_variance"`.
        surrogate_weight: Finite float >= 0, its weight gamma.
        **noise_options: `max_alpha`, `beta`, `num_train_examples`,
            `dropout_rate`, `constant_alpha`, `seed`.

    Returns:
        A `Classifier`; its penultimate noise layer is named `"dropout"`.
    """
    blocks.check_activation(activation)
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(6, 5, padding="same", activation=activation, name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(16, 5, padding="valid", activation=activation, name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    block_inputs = keras.layers.Dense(120, activation=activation, name="dense1")(x)
    features = keras.layers.Dense(84, activation=activation, name="dense2")(block_inputs)
    x = blocks.noise_layer(noise, activation, name="dropout", **noise_options)(
        [features, block_inputs]
    )
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    network = keras.Model(inputs, logits, name="lenet_network")
    return Classifier(network, weight_decay=weight_decay, surrogate=surrogate,
                      surrogate_weight=surrogate_weight, surrogate_layer="dense2", name="lenet")
