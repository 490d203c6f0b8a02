"""Zero-entropy Gaussian noise (Kirsch et al.; `infodropout_tf.layers.zero_entropy_noise`)."""

import math

import numpy as np
import pytest
from scipy import stats

from infodropout_tf import layers


def test_zero_entropy_noise_has_variance_one_over_two_pi_e():
    layer = layers.ZeroEntropyNoise(seed=0)
    zeros = np.zeros((200, 100), "float32")
    noise = np.asarray(layer(zeros, training=True)).ravel()
    variance = 1 / (2 * math.pi * math.e)
    # Four standard errors of the variance (sqrt(2 / n) relative).
    assert abs(noise.var() - variance) < 4 * variance * math.sqrt(2 / noise.size)
    # Its entropy is zero, which takes a Gaussian: any other noise of this
    # variance has less (a uniform one -0.18 nats, a Laplace one -0.07).
    # Vasicek's estimate from these 20,000 draws has standard deviation
    # 0.005 nats and bias below 0.002 for the Gaussian (100 seeds).
    assert abs(stats.differential_entropy(noise, method="vasicek")) < 4 * 0.005 + 0.002
    np.testing.assert_array_equal(layer(zeros), zeros)
    assert isinstance(layer, layers.NoiseLayer)


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_zero_entropy_noise_rejects_integer_inputs(dtype):
    with pytest.raises(ValueError, match=rf"ZeroEntropyNoise layer 'noise' expects "
                                         rf"floating-point features\. .*dtype {dtype}"):
        layers.ZeroEntropyNoise(seed=0, name="noise")(np.ones((2, 3), dtype), training=True)
