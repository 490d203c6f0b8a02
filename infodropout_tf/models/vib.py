"""The Deep Variational Information Bottleneck classifier (Alemi et al. 2016)."""

import keras

from infodropout_tf.layers import GaussianLatent
from infodropout_tf.models import blocks
from infodropout_tf.models.classifier import Classifier


def vib(
    num_classes=10,
    input_shape=(28, 28, 1),
    hidden_units=(1024, 1024),
    latent_dim=256,
    beta=1e-3,
    num_train_examples=None,
    activation="relu",
    weight_decay=0.0,
    seed=None,
):
    """An MLP encoder, a Gaussian latent and a softmax decoder.

    Alemi et al., "Deep Variational Information Bottleneck" (2016): the
    encoder (two ReLU layers of 1024 units) gives the mean and scale of a
    `latent_dim`-dimensional Gaussian (256), a linear softmax decoder
    classifies a sample, and the loss is cross-entropy + beta * KL to
    N(0, I) per example (beta = 1e-3 in their MNIST experiments). At test
    time, predictions average S samples: evaluate with
    `infodropout_tf.evaluation.evaluate_two_modes` or build with
    `stochastic_inference`.

    Args:
        num_classes: Integer.
        input_shape: Shape of one example; it is flattened.
        hidden_units: Sequence of hidden-layer widths.
        latent_dim: Integer.
        beta: Float >= 0.
        num_train_examples: Integer or None, divides the KL term.
        activation: Activation of the encoder's hidden layers.
        weight_decay: Float, coefficient of sum ||v||^2 / 2.
        seed: Integer or None.

    Returns:
        A `Classifier`; its latent layer is named `"latent"`.
    """
    blocks.check_activation(activation)
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for index, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, activation=activation, name=f"dense{index}")(x)
    z = GaussianLatent(
        latent_dim, beta=beta, num_train_examples=num_train_examples, seed=seed,
        name="latent",
    )(x)
    logits = keras.layers.Dense(num_classes, name="logits")(z)
    network = keras.Model(inputs, logits, name="vib_network")
    return Classifier(network, weight_decay=weight_decay, name="vib")
