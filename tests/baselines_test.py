"""Baseline noise layers: their noise laws and the interface they share."""

import keras
import numpy as np
import pytest

from infodropout_tf import layers

N_ROWS, UNITS = 200, 100  # 20,000 draws per statistical check
ONES = np.ones((N_ROWS, UNITS), "float32")


def test_binary_dropout_keeps_one_minus_rate_and_rescales():
    rate = 0.3
    noise = np.asarray(layers.BinaryDropout(rate, seed=1)(ONES, training=True)).ravel()
    assert set(np.unique(noise)) == {0.0, np.float32(1 / 0.7)}
    kept = np.mean(noise > 0)
    # Four binomial standard errors.
    assert abs(kept - 0.7) < 4 * np.sqrt(0.7 * 0.3 / noise.size)


def test_gaussian_dropout_has_mean_one_and_fixed_variance():
    rate = 0.5  # stddev sqrt(rate / (1 - rate)) = 1
    noise = np.asarray(layers.GaussianDropout(rate, seed=2)(ONES, training=True)).ravel()
    n = noise.size
    assert abs(noise.mean() - 1.0) < 4 * 1.0 / np.sqrt(n)
    assert abs(noise.std() - 1.0) < 4 * 1.0 / np.sqrt(2 * n)


def test_constant_lognormal_noise_has_log_std_alpha_everywhere():
    alpha = 0.7
    rng = np.random.default_rng(0)
    features = rng.uniform(0.1, 10.0, size=(N_ROWS, UNITS)).astype("float32")
    layer = layers.ConstantLogNormalNoise(alpha, seed=3)
    log_noise = np.log(np.asarray(layer(features, training=True)) / features)
    n = log_noise.size
    assert abs(log_noise.mean()) < 4 * alpha / np.sqrt(n)
    assert abs(log_noise.std() - alpha) < 4 * alpha / np.sqrt(2 * n)
    # Not adaptive: the spread is the same for small and large features.
    small, large = log_noise[features < 1.0], log_noise[features > 5.0]
    assert abs(small.std() - large.std()) < 8 * alpha / np.sqrt(2 * min(small.size, large.size))


def test_none_is_the_identity_even_when_training():
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    np.testing.assert_array_equal(layers.NoNoise()(x, training=True), x)


@pytest.mark.parametrize("name", sorted(layers.NOISE_LAYERS))
def test_every_layer_accepts_both_forms_and_is_exact_at_inference(name):
    drop_in, block = layers.get(name, seed=4), layers.get(name, seed=4)
    assert isinstance(drop_in, layers.NOISE_LAYERS[name])
    features = np.random.default_rng(2).uniform(0.5, 1.5, size=(2, 4, 4, 3)).astype("float32")
    block_inputs = np.ones((2, 4, 4, 6), "float32")
    np.testing.assert_array_equal(drop_in(features, training=False), features)
    np.testing.assert_array_equal(block([features, block_inputs], training=False), features)
    assert block([features, block_inputs], training=True).shape == features.shape


@pytest.mark.parametrize("name", ["binary", "gaussian", "constant_lognormal"])
def test_baselines_draw_at_inference_with_stochastic_inference(name):
    layer = layers.get(name, stochastic_inference=True, seed=5)
    first, second = layer(ONES[:4]), layer(ONES[:4])
    assert not np.allclose(first, second)
    restored = type(layer).from_config(layer.get_config())
    assert restored.stochastic_inference
    assert not np.allclose(restored(ONES[:4]), ONES[:4])


def test_swapping_by_name_in_a_block_model():
    def build(name, **kwargs):
        inputs = keras.Input((8, 8, 3))
        features = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inputs)
        noisy = layers.get(name, seed=6, **kwargs)([features, inputs])
        return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(noisy))

    info = build("information", alpha_strides=2, beta=1.0)
    binary = build("binary", rate=0.5)
    assert len(info.losses) == 0  # Losses appear on calls.
    x = np.ones((2, 8, 8, 3), "float32")
    info(x, training=True)
    binary(x, training=True)
    assert len(info.losses) == 1
    assert len(binary.losses) == 0


def test_get_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"`noise`.*Received: noise='dropconnect'"):
        layers.get("dropconnect")
    assert layers.get("binary", rate=0.1, name="custom").name == "custom"


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.5"])
def test_bad_rates_are_rejected(rate):
    with pytest.raises(ValueError, match=r"`rate`.*Received: rate="):
        layers.BinaryDropout(rate)
    with pytest.raises(ValueError, match=r"`rate`.*Received: rate="):
        layers.GaussianDropout(rate)


def test_bad_constant_alpha_is_rejected():
    with pytest.raises(ValueError, match=r"`alpha`.*Received: alpha=0"):
        layers.ConstantLogNormalNoise(alpha=0)


@pytest.mark.parametrize("name", sorted(layers.NOISE_LAYERS))
def test_suppress_noise_turns_every_layer_off_even_when_training(name):
    layer = layers.get(name, stochastic_inference=True, seed=7)
    x = np.random.default_rng(3).uniform(0.5, 1.5, size=(4, 6)).astype("float32")
    with layers.suppress_noise():
        np.testing.assert_array_equal(layer(x, training=True), x)
    if name != "none":
        assert not np.allclose(layer(x, training=True), x)


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), True])
def test_non_finite_and_boolean_rates_are_rejected(rate):
    for cls in (layers.BinaryDropout, layers.GaussianDropout):
        with pytest.raises(ValueError, match=rf"`rate`\. Expected a float in \[0, 1\)\. "
                                             rf"Received: rate={rate!r}$"):
            cls(rate)


@pytest.mark.parametrize("alpha", [float("inf"), float("nan"), True, -0.5])
def test_non_finite_boolean_and_negative_constant_alphas_are_rejected(alpha):
    with pytest.raises(ValueError, match=rf"`alpha`\. Expected a positive finite float\. "
                                         rf"Received: alpha={alpha!r}$"):
        layers.ConstantLogNormalNoise(alpha=alpha)


@pytest.mark.parametrize("name", sorted(layers.NOISE_LAYERS))
@pytest.mark.parametrize("seed", [True, 1.5, "3"])
def test_every_layer_rejects_seeds_that_are_not_integers(name, seed):
    with pytest.raises(ValueError, match=rf"`seed`\..*Received: seed={seed!r}$"):
        layers.get(name, seed=seed)


@pytest.mark.parametrize("name", sorted(layers.NOISE_LAYERS))
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_every_layer_rejects_integer_and_boolean_features(name, dtype):
    # Keras's own GaussianDropout fails with a TensorFlow type error here and
    # the layers used to return truncated noise: now every one, the identity
    # included (so that swapping layers never changes the accepted inputs),
    # names itself, the dtype and the fix, in training and at inference.
    features = np.ones((2, 3), dtype)
    for training in (True, False):
        layer = layers.get(name, seed=0, name="noisy")
        cls = type(layer).__name__
        with pytest.raises(ValueError, match=rf"{cls} layer 'noisy' expects floating-point "
                                             rf"features\. Received: features of dtype "
                                             rf"{dtype}\. Cast the inputs to float first"):
            layer(features, training=training)


@pytest.mark.parametrize("name", sorted(layers.NOISE_LAYERS))
def test_every_layer_passes_an_empty_batch_through(name):
    empty = np.ones((0, 3), "float32")
    outputs = layers.get(name, seed=0)(empty, training=True)
    assert outputs.shape == (0, 3)
