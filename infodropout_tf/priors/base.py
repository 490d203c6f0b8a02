"""The `Prior` contract, and the posterior that every KL map reads.

A prior is a small Keras layer: `prior(features, alpha, alpha_upper)`
returns KL(p(z|x) || q(z)) for every unit, where p(z|x) is the layer's
posterior `tfd.LogNormal(log f(x), alpha(x))` (Achille & Soatto,
"Information Dropout", TPAMI 2018, section 4). It is a layer so that
learnable parameters are tracked, saved and mirrored under tf.distribute
like any other weight.
"""

import keras
import tensorflow_probability as tfp
from keras import ops

tfd = tfp.distributions

# Activations are clamped at this value before their log is taken (as in the
# original implementation's `tf.log(tf.maximum(network, 1e-4))`), so that the
# log-normal KL stays finite for units that a softplus or ReLU drives to 0.
LOG_FEATURE_FLOOR = 1e-4


def clamped_posterior(features, alpha):
    """The posterior the KL maps use: `tfd.LogNormal(log max(f, 1e-4), alpha)`.

    Args:
        features: Noise-free activations f(x), any float dtype.
        alpha: Noise scale with the shape of `features`.

    Returns:
        A float32 `tfd.LogNormal` with batch shape the shape of `features`.
    """
    log_features = ops.log(
        ops.maximum(ops.cast(features, "float32"), LOG_FEATURE_FLOOR)
    )
    return tfd.LogNormal(loc=log_features, scale=ops.cast(alpha, "float32"))


class Prior(keras.layers.Layer):
    """Base class of the priors q(z) used by `InformationDropout`.

    Subclasses implement `call(features, alpha, alpha_upper)` and return
    KL(LogNormal(log f, alpha^2) || q) for every unit, and `distribution()`
    when the prior is a proper distribution.

    Call arguments:
        features: Noise-free activations f(x), any shape.
        alpha: Noise scale with the shape of `features`.
        alpha_upper: Python float, the largest alpha the noise layer can
            produce (`max_alpha + alpha_min`).
        noise: Only for priors with `requires_noise`: the float32
            standard-normal draw n of the layer's sample
            z = f * exp(alpha * n), with the shape of `features`.

    Returns:
        float32 tensor with the shape of `features`: the KL of each unit,
        in nats.
    """

    # Whether `call` needs the layer's standard-normal draw (Monte-Carlo KL).
    requires_noise = False

    def __init__(self, **kwargs):
        # Logs of small alphas and of clamped activations lose all precision
        # in float16, so the KL is float32 whatever the global policy.
        kwargs.setdefault("dtype", "float32")
        # A fixed name gives stable weight paths ("<noise layer>/prior/mu")
        # however many priors a session creates.
        kwargs.setdefault("name", "prior")
        super().__init__(**kwargs)

    def distribution(self):
        """The prior as a float32 `tfd.Distribution` over z > 0."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `distribution`."
        )

    def log_prob(self, z):
        """log q(z) for z > 0, in float32."""
        return self.distribution().log_prob(ops.cast(z, "float32"))
