"""All-CNN-32 and All-CNN-96 (paper Table 2, after Springenberg et al. 2015)."""

import keras

from infodropout_tf import _validation
from infodropout_tf.layers import BinaryDropout
from infodropout_tf.models import blocks
from infodropout_tf.models.classifier import Classifier

# (filters, number of stride-1 3x3 convolutions before the stride-2 block)
# per stage; every stage ends with a stride-2 3x3 convolution followed by
# the dropout block. Paper Table 2 and the original cifar.py / cluttered.py.
ALL_CNN_32_STAGES = ((96, 2), (192, 2))
ALL_CNN_96_STAGES = ((32, 2), (64, 2), (96, 2), (192, 2))
HEAD_FILTERS = 192  # both networks end with 3x3 and 1x1 convolutions of 192


def _all_cnn(
    name,
    stages,
    num_classes,
    input_shape,
    filter_fraction,
    activation,
    input_dropout_rate,
    weight_decay,
    batch_norm_momentum,
    noise,
    noise_options,
):
    blocks.check_activation(activation)
    _validation.float_in("filter_fraction", filter_fraction, 0, 1, include_low=False)
    seeds = blocks.seed_stream(noise_options.pop("seed", None))
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if input_dropout_rate:
        x = BinaryDropout(input_dropout_rate, seed=next(seeds), name="input_dropout")(x)

    def conv(x, filters, kernel_size, strides, layer_name):
        return blocks.conv_bn(
            x, filters, kernel_size, strides, activation, batch_norm_momentum, layer_name
        )

    for stage, (full_filters, convolutions) in enumerate(stages, start=1):
        filters = int(full_filters * filter_fraction)
        for index in range(1, convolutions + 1):
            x = conv(x, filters, 3, 1, f"conv{stage}_{index}")
        block_inputs = x
        features = conv(x, filters, 3, 2, f"conv{stage}_{convolutions + 1}")
        x = blocks.noise_layer(
            noise, activation, name=f"dropout{stage}", alpha_kernel_size=3,
            alpha_strides=2, seed=next(seeds), **noise_options,
        )([features, block_inputs])

    head_filters = int(HEAD_FILTERS * filter_fraction)
    x = conv(x, head_filters, 3, 1, "head_conv1")
    x = conv(x, head_filters, 1, 1, "head_conv2")
    x = conv(x, num_classes, 1, 1, "head_conv3")
    x = keras.layers.GlobalAveragePooling2D(name="spatial_mean")(x)
    # The original adds a linear layer on top of the spatial mean.
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    network = keras.Model(inputs, logits, name=f"{name}_network")
    return Classifier(network, weight_decay=weight_decay, name=name)


def all_cnn_32(
    num_classes=10,
    input_shape=(32, 32, 3),
    filter_fraction=1.0,
    activation="relu",
    input_dropout_rate=0.2,
    weight_decay=0.001,
    batch_norm_momentum=0.9,
    noise="information",
    **noise_options,
):
    """All-CNN-32 for CIFAR-10 and Occluded CIFAR (paper Table 2, left).

    Two stages of 3x3 convolutions (96 and 192 filters times
    `filter_fraction`), each ending with a stride-2 convolution followed by
    the dropout block, then 3x3 and 1x1 convolutions, a 1x1 convolution to
    the class count, the spatial mean and a dense logits layer. Every
    convolution is followed by BatchNorm and the activation. Defaults are
    the original's CIFAR-10 settings (input keep probability 0.8, weight
    decay 0.001, BatchNorm decay 0.9).

    Args:
        num_classes: Integer.
        input_shape: Tuple (height, width, channels).
        filter_fraction: Float in (0, 1], the original's filter_percentage.
        activation: `"relu"` (log-uniform prior) or `"softplus"` (log-normal).
        input_dropout_rate: Float, binary dropout rate on the input (0 for
            none).
        weight_decay: Float, coefficient of sum ||v||^2 / 2.
        batch_norm_momentum: Float, BatchNorm moving-average decay.
        noise: Name of the dropout block's noise (see `blocks.noise_layer`).
        **noise_options: `max_alpha` (default 0.7), `beta`,
            `num_train_examples`, `dropout_rate`, `constant_alpha`, `seed`.

    Returns:
        A `Classifier`.
    """
    return _all_cnn(
        "all_cnn_32", ALL_CNN_32_STAGES, num_classes, input_shape, filter_fraction,
        activation, input_dropout_rate, weight_decay, batch_norm_momentum, noise,
        {"max_alpha": 0.7, **noise_options},
    )


def all_cnn_96(
    num_classes=10,
    input_shape=(96, 96, 1),
    filter_fraction=1.0,
    activation="relu",
    input_dropout_rate=0.0,
    weight_decay=0.0,
    batch_norm_momentum=0.999,
    noise="information",
    **noise_options,
):
    """All-CNN-96 for Cluttered MNIST (paper Table 2, right).

    Four stages of 3x3 convolutions (32, 64, 96 and 192 filters times
    `filter_fraction`), each ending with a stride-2 convolution and the
    dropout block, then the same head as All-CNN-32. Defaults are the
    original's Cluttered MNIST settings (max_alpha 1.0, no weight decay, no
    input dropout, BatchNorm decay 0.999).

    Args: as `all_cnn_32`; `noise_options` default `max_alpha` is 1.0.

    Returns:
        A `Classifier`.
    """
    return _all_cnn(
        "all_cnn_96", ALL_CNN_96_STAGES, num_classes, input_shape, filter_fraction,
        activation, input_dropout_rate, weight_decay, batch_norm_momentum, noise,
        {"max_alpha": 1.0, **noise_options},
    )
