"""All-CNN-32 and All-CNN-96 against paper Table 2 and the original code."""

import keras
import numpy as np
import pytest

from infodropout_tf import layers
from infodropout_tf import models

# Paper Table 2, written out layer by layer: (filters, kernel, stride,
# followed by the dropout block). Every convolution is followed by
# BatchNorm and the activation.
TABLE_2 = {
    "all_cnn_32": [
        (96, 3, 1, False), (96, 3, 1, False), (96, 3, 2, True),
        (192, 3, 1, False), (192, 3, 1, False), (192, 3, 2, True),
        (192, 3, 1, False), (192, 1, 1, False), (10, 1, 1, False),
    ],
    "all_cnn_96": [
        (32, 3, 1, False), (32, 3, 1, False), (32, 3, 2, True),
        (64, 3, 1, False), (64, 3, 1, False), (64, 3, 2, True),
        (96, 3, 1, False), (96, 3, 1, False), (96, 3, 2, True),
        (192, 3, 1, False), (192, 3, 1, False), (192, 3, 2, True),
        (192, 3, 1, False), (192, 1, 1, False), (10, 1, 1, False),
    ],
}
INPUT_CHANNELS = {"all_cnn_32": 3, "all_cnn_96": 1}


def _scaled_table(name, fraction):
    # The class-count convolution is not scaled.
    return [
        (filters if filters == 10 else int(filters * fraction), kernel, stride, dropout)
        for filters, kernel, stride, dropout in TABLE_2[name]
    ]


@pytest.mark.parametrize("name", sorted(TABLE_2))
@pytest.mark.parametrize("fraction", [1.0, 0.25])
def test_layers_follow_table_2(name, fraction):
    model = models.build({"name": name, "filter_fraction": fraction})
    network_layers = model.network.layers
    convs = [l for l in network_layers if isinstance(l, keras.layers.Conv2D)]
    observed = []
    for conv in convs:
        index = network_layers.index(conv)
        batch_norm, activation = network_layers[index + 1], network_layers[index + 2]
        assert isinstance(batch_norm, keras.layers.BatchNormalization)
        assert batch_norm.center and not batch_norm.scale
        assert isinstance(activation, keras.layers.Activation)
        assert not conv.use_bias and conv.padding == "same"
        following = network_layers[index + 3]
        observed.append((conv.filters, conv.kernel_size[0], conv.strides[0],
                         isinstance(following, layers.InformationDropout)))
    assert observed == _scaled_table(name, fraction)
    assert isinstance(network_layers[-2], keras.layers.GlobalAveragePooling2D)
    assert isinstance(network_layers[-1], keras.layers.Dense)
    assert network_layers[-1].units == 10


def _expected_parameter_counts(name, fraction, input_channels):
    trainable = non_trainable = 0
    channels = input_channels
    for filters, kernel, stride, dropout in _scaled_table(name, fraction):
        trainable += kernel * kernel * channels * filters  # conv, no bias
        trainable += filters  # BatchNorm offset (no scale)
        non_trainable += 2 * filters  # moving mean and variance
        if dropout:  # alpha branch: 3x3 conv with bias on the block input
            trainable += 3 * 3 * channels * filters + filters
            non_trainable += 1  # beta, the KL weight (a variable)
        channels = filters
    trainable += 10 * 10 + 10  # dense logits on the spatial mean
    return trainable, non_trainable


@pytest.mark.parametrize("name", sorted(TABLE_2))
@pytest.mark.parametrize("fraction", [1.0, 0.25])
def test_parameter_counts(name, fraction):
    model = models.build({"name": name, "filter_fraction": fraction})
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert (trainable, non_trainable) == _expected_parameter_counts(
        name, fraction, INPUT_CHANNELS[name]
    )


def test_pinned_parameter_counts_of_the_cifar_network():
    # Summed by hand from Table 2 (e.g. 25%: 24 and 48 filters give
    # 672 + 5208 * 3 + 10416 + 20784 * 4 + 2352 + 490 + 110 trainable).
    # Non-trainable: BatchNorm statistics, and the two dropout layers' beta.
    assert _expected_parameter_counts("all_cnn_32", 1.0, 3) == (1_784_856, 2_516 + 2)
    assert _expected_parameter_counts("all_cnn_32", 0.25, 3) == (112_800, 644 + 2)


def test_block_noise_reads_block_inputs_with_the_main_stride():
    model = models.build({"name": "all_cnn_32", "filter_fraction": 0.25})
    dropout1 = model.network.get_layer("dropout1")
    assert dropout1.alpha_branch.strides == (2, 2)
    assert dropout1.alpha_branch.kernel.shape == (3, 3, 24, 24)
    assert dropout1.max_alpha == 0.7
    assert models.build({"name": "all_cnn_96"}).network.get_layer("dropout1").max_alpha == 1.0


@pytest.mark.parametrize("activation,prior", [("relu", "LogUniformPrior"),
                                              ("softplus", "LogNormalPrior")])
def test_activation_selects_the_prior(activation, prior):
    model = models.build({"name": "all_cnn_32", "filter_fraction": 0.25,
                          "activation": activation})
    assert type(model.network.get_layer("dropout2").prior).__name__ == prior
    assert model.network.get_layer("conv1_1_" + activation)


@pytest.mark.parametrize("noise,cls", [("binary", layers.BinaryDropout),
                                       ("gaussian", layers.GaussianDropout),
                                       ("constant_lognormal", layers.ConstantLogNormalNoise),
                                       ("none", layers.NoNoise)])
def test_baselines_replace_the_information_dropout_block(noise, cls):
    model = models.build({"name": "all_cnn_32", "filter_fraction": 0.25, "noise": noise})
    assert isinstance(model.network.get_layer("dropout1"), cls)
    assert not model.kl_layers


def test_input_dropout_and_configurable_shapes():
    model = models.build({"name": "all_cnn_32", "filter_fraction": 0.25})
    assert model.network.get_layer("input_dropout").rate == 0.2
    occluded = models.build({"name": "all_cnn_32", "filter_fraction": 0.25,
                             "input_dropout_rate": 0.0, "num_classes": 7,
                             "input_shape": (28, 28, 1)})
    assert "input_dropout" not in [l.name for l in occluded.network.layers]
    assert occluded(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 7)


def test_bad_filter_fraction_is_rejected():
    with pytest.raises(ValueError, match=r"filter_fraction.*Received: filter_fraction=0"):
        models.build({"name": "all_cnn_32", "filter_fraction": 0})
