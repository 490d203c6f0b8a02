"""Baseline noise layers of the paper's comparisons, behind one interface.

Each has the call signature of `InformationDropout` (a tensor or a list
`[features, block_inputs]`, whose `block_inputs` they ignore), the same
`training` / `stochastic_inference` rule and replica-aware seeding, so a model
can swap them by name with `infodropout_tf.layers.get`. None of them adds a
loss.
"""

import math

import keras
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.layers.multiplicative_noise import MultiplicativeNoise


def _check_rate(rate):
    # rate = 1 would divide by 1 - rate = 0 (binary) or give infinite
    # variance (Gaussian).
    return _validation.float_in("rate", rate, 0.0, 1.0, include_high=False)


@keras.saving.register_keras_serializable(package="infodropout_tf")
class BinaryDropout(MultiplicativeNoise):
    """Bernoulli dropout: eps = b / (1 - rate), b ~ Bernoulli(1 - rate).

    The "binary dropout" of the paper's comparisons (the original uses
    `tf.nn.dropout` with keep probability 0.5), with mean-1 noise like
    `keras.layers.Dropout`.

    Args:
        rate: Float in [0, 1), the probability of dropping a unit.
        stochastic_inference: Boolean, draw noise also at inference
            (Monte-Carlo dropout).
        seed: Integer, optional random seed.
    """

    def __init__(self, rate=0.5, stochastic_inference=False, seed=None, **kwargs):
        super().__init__(
            stochastic_inference=stochastic_inference, seed=seed, **kwargs
        )
        self.rate = _check_rate(rate)

    def sample_noise(self, features):
        keep = 1.0 - self.rate
        kept = ops.cast(self.uniform(ops.shape(features)) < keep, "float32")
        return kept / keep

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class GaussianDropout(MultiplicativeNoise):
    """Gaussian dropout: eps ~ N(1, rate / (1 - rate)), fixed variance.

    The same noise as `keras.layers.GaussianDropout` (Srivastava et al. 2014),
    matching the variance of binary dropout with the same `rate`.

    Args:
        rate: Float in [0, 1), the equivalent binary-dropout rate.
        stochastic_inference: Boolean, draw noise also at inference.
        seed: Integer, optional random seed.
    """

    def __init__(self, rate=0.5, stochastic_inference=False, seed=None, **kwargs):
        super().__init__(
            stochastic_inference=stochastic_inference, seed=seed, **kwargs
        )
        self.rate = _check_rate(rate)

    @property
    def stddev(self):
        return math.sqrt(self.rate / (1.0 - self.rate))

    def sample_noise(self, features):
        return 1.0 + self.stddev * self.standard_normal(ops.shape(features))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class ConstantLogNormalNoise(MultiplicativeNoise):
    """Log-normal noise with a fixed scale: eps ~ LogNormal(0, alpha^2).

    The paper's "same variance, not adaptive" baseline: the noise of
    `InformationDropout` with alpha fixed instead of learned per input.

    Args:
        alpha: Finite float > 0, standard deviation of log(eps).
        stochastic_inference: Boolean, draw noise also at inference.
        seed: Integer, optional random seed.
    """

    def __init__(self, alpha=0.7, stochastic_inference=False, seed=None, **kwargs):
        super().__init__(
            stochastic_inference=stochastic_inference, seed=seed, **kwargs
        )
        self.alpha = _validation.positive_float("alpha", alpha)

    def sample_noise(self, features):
        return ops.exp(self.alpha * self.standard_normal(ops.shape(features)))

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class NoNoise(MultiplicativeNoise):
    """The identity: the "no dropout" baseline, with the common interface.

    It accepts the inputs the other noise layers accept (floating-point
    features), so that swapping it for one of them never changes which
    inputs a model takes.
    """

    def noise_active(self, training):
        return False
