"""Noise layers: Information Dropout, its baselines, the Gaussian latent and
zero-entropy noise."""

from infodropout_tf import _validation
from infodropout_tf.layers.baselines import BinaryDropout
from infodropout_tf.layers.baselines import ConstantLogNormalNoise
from infodropout_tf.layers.baselines import GaussianDropout
from infodropout_tf.layers.baselines import NoNoise
from infodropout_tf.layers.gaussian_latent import GaussianLatent
from infodropout_tf.layers.information_dropout import ALPHA_MIN
from infodropout_tf.layers.information_dropout import InformationDropout
from infodropout_tf.layers.kl_penalty import KLPenalty
from infodropout_tf.layers.kl_penalty import kl_layers
from infodropout_tf.layers.multiplicative_noise import MultiplicativeNoise
from infodropout_tf.layers.noise_layer import NoiseLayer
from infodropout_tf.layers.noise_layer import sampling_at_inference
from infodropout_tf.layers.noise_layer import set_stochastic_inference
from infodropout_tf.layers.noise_layer import suppress_noise
from infodropout_tf.layers.zero_entropy_noise import ZeroEntropyNoise

__all__ = [
    "ALPHA_MIN",
    "NOISE_LAYERS",
    "BinaryDropout",
    "ConstantLogNormalNoise",
    "GaussianDropout",
    "GaussianLatent",
    "InformationDropout",
    "KLPenalty",
    "MultiplicativeNoise",
    "NoNoise",
    "NoiseLayer",
    "ZeroEntropyNoise",
    "get",
    "kl_layers",
    "sampling_at_inference",
    "set_stochastic_inference",
    "suppress_noise",
]

NOISE_LAYERS = {
    "information": InformationDropout,
    "binary": BinaryDropout,
    "gaussian": GaussianDropout,
    "constant_lognormal": ConstantLogNormalNoise,
    "none": NoNoise,
    "zero_entropy": ZeroEntropyNoise,
}


def get(noise, **kwargs):
    """Creates a noise layer by name, so models can swap them from config.

    Args:
        noise: One of `"information"`, `"binary"`, `"gaussian"`,
            `"constant_lognormal"`, `"none"`, `"zero_entropy"`.
        **kwargs: Arguments of that layer's constructor (`name` included).

    Returns:
        A new `MultiplicativeNoise` layer, or for `"zero_entropy"` the
        additive `ZeroEntropyNoise` (Kirsch, Lyle & Gal), which takes the
        same call forms.

    Raises:
        ValueError: if `noise` is not a known noise layer.
    """
    noise = _validation.one_of("noise", noise, sorted(NOISE_LAYERS))
    return NOISE_LAYERS[noise](**kwargs)
