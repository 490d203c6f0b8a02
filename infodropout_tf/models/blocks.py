"""Building blocks shared by the paper's networks."""

import itertools

import keras

from infodropout_tf import _validation
from infodropout_tf import layers as noise_layers
from infodropout_tf.priors import PRIOR_BY_ACTIVATION

def check_activation(activation):
    _validation.one_of("activation", activation, sorted(PRIOR_BY_ACTIVATION))


def seed_stream(seed):
    """Distinct seeds for the noise layers of a model: seed, seed + 1, ..."""
    return itertools.count(seed) if seed is not None else itertools.repeat(None)


def noise_layer(
    noise,
    activation,
    name,
    max_alpha=0.7,
    beta=1.0,
    num_train_examples=None,
    dropout_rate=0.5,
    constant_alpha=None,
    alpha_kernel_size=3,
    alpha_strides=1,
    seed=None,
):
    """Creates the noise layer of a dropout block by name.

    Args:
        noise: `"information"`, `"binary"`, `"gaussian"`,
            `"constant_lognormal"`, `"zero_entropy"` (additive N(0, 1/(2 pi
            e)) noise of Kirsch, Lyle & Gal, for the surrogate objectives)
            or `"none"`.
        activation: `"relu"` or `"softplus"`; selects the information-dropout
            prior (log-uniform or log-normal, as the original's
            `lognorm_prior` does with softplus).
        name: Layer name.
        max_alpha, beta, num_train_examples, alpha_kernel_size, alpha_strides:
            Arguments of `InformationDropout`.
        dropout_rate: Rate of the binary and Gaussian dropout baselines (the
            original's keep probability 0.5).
        constant_alpha: Noise scale of the constant log-normal baseline;
            defaults to `max_alpha`.
        seed: Integer or None.

    Returns:
        A noise layer to call as `layer([features, inputs])`: a
        `MultiplicativeNoise`, or a `ZeroEntropyNoise` for `"zero_entropy"`.
    """
    check_activation(activation)
    if noise == "information":
        return noise_layers.InformationDropout(
            max_alpha=max_alpha,
            prior=PRIOR_BY_ACTIVATION[activation],
            beta=beta,
            num_train_examples=num_train_examples,
            alpha_kernel_size=alpha_kernel_size,
            alpha_strides=alpha_strides,
            seed=seed,
            name=name,
        )
    if noise in ("binary", "gaussian"):
        return noise_layers.get(noise, rate=dropout_rate, seed=seed, name=name)
    if noise == "constant_lognormal":
        alpha = max_alpha if constant_alpha is None else constant_alpha
        return noise_layers.ConstantLogNormalNoise(alpha, seed=seed, name=name)
    return noise_layers.get(noise, seed=seed, name=name)


def conv_bn(x, filters, kernel_size, strides, activation, momentum, name):
    """Convolution, BatchNorm, activation, as the original's `conv`.

    The convolution has no bias and BatchNorm has an offset but no scale,
    like `tf.contrib.layers.conv2d` with `normalizer_fn=batch_norm`.
    """
    x = keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=False,
        name=name,
    )(x)
    x = keras.layers.BatchNormalization(
        momentum=momentum, epsilon=1e-3, scale=False, name=f"{name}_bn"
    )(x)
    return keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
