"""The paper's networks, built by name from a config dict.

| name | network |
| --- | --- |
| `all_cnn_32` | All-CNN-32 for CIFAR-10 / Occluded CIFAR (paper Table 2) |
| `all_cnn_96` | All-CNN-96 for Cluttered MNIST (paper Table 2) |
| `mlp` | 3-hidden-layer MLP for MNIST (paper Fig. 3a) |
| `lenet` | LeNet-5 with a dropout block on the penultimate layer |
| `vib` | Deep Variational Information Bottleneck classifier |
| `vae` | VAE with a Gaussian or information-dropout latent (Table 1) |
"""

import inspect

from infodropout_tf.models.all_cnn import all_cnn_32
from infodropout_tf.models.all_cnn import all_cnn_96
from infodropout_tf.models.classifier import Classifier
from infodropout_tf.models.lenet import lenet
from infodropout_tf.models.mlp import mlp
from infodropout_tf.models.vae import VAE
from infodropout_tf.models.vib import vib

__all__ = [
    "MODELS",
    "NOISE_OPTIONS",
    "VAE",
    "Classifier",
    "all_cnn_32",
    "all_cnn_96",
    "build",
    "lenet",
    "mlp",
    "vib",
]

MODELS = {
    "all_cnn_32": all_cnn_32,
    "all_cnn_96": all_cnn_96,
    "mlp": mlp,
    "lenet": lenet,
    "vib": vib,
    "vae": VAE,
}

# Options the classifier builders forward to `blocks.noise_layer`.
NOISE_OPTIONS = ("max_alpha", "beta", "num_train_examples", "dropout_rate",
                 "constant_alpha", "seed")


def build(config):
    """Builds a model from a config dict with a `"name"` entry.

    Example:

    >>> model = build({"name": "mlp", "width": 128, "noise": "binary"})

    Args:
        config: Mapping with `"name"` (a key of `MODELS`) and the builder's
            keyword arguments.

    Returns:
        A Keras model: a `Classifier`, or a `VAE`.

    Raises:
        ValueError: for an unknown model name or an argument the builder
            does not take.
    """
    config = dict(config)
    name = config.pop("name", None)
    if name not in MODELS:
        raise ValueError(
            "Invalid value received for config entry `name`. Expected one of "
            f"{sorted(MODELS)}. Received: name={name!r}"
        )
    builder = MODELS[name]
    parameters = inspect.signature(builder).parameters
    accepted = {n for n, p in parameters.items() if p.kind is not p.VAR_KEYWORD}
    if "noise_options" in parameters:
        accepted |= set(NOISE_OPTIONS)
    unknown = sorted(set(config) - accepted)
    if unknown:
        raise ValueError(
            f"Unknown config entries for model {name!r}: {unknown}. "
            f"Accepted entries: {sorted(accepted)}"
        )
    return builder(**config)
