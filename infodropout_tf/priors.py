"""Priors q(z) for the activations of Information Dropout.

Information Dropout (Achille & Soatto, "Information Dropout: Learning Optimal
Representations Through Noisy Computation", TPAMI 2018) regularises
z = f(x) * eps, eps ~ LogNormal(0, alpha(x)^2), by KL(p(z|x) || q(z)) summed
over units. The paper derives two closed forms, one per activation:

* ReLU: the improper log-uniform prior q(log z) = const (paper Prop. 2),
  `LogUniformPrior`.
* Softplus: a log-normal prior q(log z) = N(mu, sigma^2) with learnable
  scalars (paper Prop. 3), `LogNormalPrior`.

A prior is a small Keras layer: `prior(features, alpha, alpha_upper)` returns
the per-unit KL map in float32 with the shape of `features`. It is a layer so
that the learnable parameters of the log-normal prior are tracked, saved and
mirrored under tf.distribute like any other weight. Priors always compute in
float32, also under a mixed-precision policy, because the KL takes logs of
quantities that can be as small as 1e-3.

Use `get()` to turn a name (`"log_uniform"`, `"log_normal"`), a serialised
config or an instance into a prior.
"""

import keras
from keras import ops

from infodropout_tf import _validation

# Activations are clamped at this value before their log is taken (as in the
# original implementation's `tf.log(tf.maximum(network, 1e-4))`), so that the
# log-normal KL stays finite for units that a softplus or ReLU drives to 0.
LOG_FEATURE_FLOOR = 1e-4


class Prior(keras.layers.Layer):
    """Base class of the priors q(z) used by `InformationDropout`.

    Subclasses implement `call(features, alpha, alpha_upper)` and return the
    closed-form KL(LogNormal(log f, alpha^2) || q) for every unit.

    Call arguments:
        features: Noise-free activations f(x), any shape.
        alpha: Noise scale with the shape of `features`.
        alpha_upper: Python float, the largest alpha the noise layer can
            produce (`max_alpha + alpha_min`).

    Returns:
        float32 tensor with the shape of `features`: the KL of each unit,
        in nats.
    """

    def __init__(self, **kwargs):
        # Logs of small alphas and of clamped activations lose all precision
        # in float16, so the KL is float32 whatever the global policy.
        kwargs.setdefault("dtype", "float32")
        # A fixed name gives stable weight paths ("<noise layer>/prior/mu")
        # however many priors a session creates.
        kwargs.setdefault("name", "prior")
        super().__init__(**kwargs)


@keras.saving.register_keras_serializable(package="infodropout_tf")
class LogUniformPrior(Prior):
    """Improper log-uniform prior q(z) ~ c / z, for ReLU activations.

    The log-uniform prior is the scale-invariant prior that matches the
    scale invariance of ReLU networks (paper section 5, Prop. 2). The KL of a
    log-normal posterior against it is -log(alpha) up to the prior's
    arbitrary constant; as in the original implementation the constant is
    chosen so that the KL is 0 at the largest alpha the layer can produce:

        KL = -log(alpha / alpha_upper),   alpha_upper = max_alpha + alpha_min

    The value therefore measures information relative to the noisiest
    admissible channel, not an absolute number of nats; it does not depend
    on the activations.

    Example:

    >>> prior = LogUniformPrior()
    >>> kl = prior(features, alpha, alpha_upper=0.701)
    """

    def call(self, features, alpha, alpha_upper):
        del features  # The log-uniform KL depends on alpha alone.
        alpha = ops.cast(alpha, "float32")
        return ops.log(alpha_upper) - ops.log(alpha)


@keras.saving.register_keras_serializable(package="infodropout_tf")
class LogNormalPrior(Prior):
    """Log-normal prior log z ~ N(mu, sigma^2) with learnable mu and sigma.

    Used with softplus activations, whose outputs are approximately
    log-normal (paper section 5, Prop. 3). With log f = log(max(f, 1e-4)),
    the KL of the posterior LogNormal(log f, alpha^2) is the KL between the
    two Gaussians of the logs (the original's `KL_div2`):

        KL = 1/2 * ((alpha / sigma)^2 + (log f - mu)^2 / sigma^2 - 1)
             + log(sigma) - log(alpha)

    `mu` and `sigma` are trainable scalars initialised to `mu_initial_value`
    (0) and `sigma_initial_value` (1), as in the original. Like the original,
    `sigma` is used as is (not through a softplus): the KL grows without
    bound as sigma approaches 0, which keeps gradient descent away from it.

    Args:
        mu_initial_value: Finite float, initial mean of log z under the
            prior.
        sigma_initial_value: Finite float > 0, initial standard deviation
            of log z.
        trainable_parameters: Boolean, whether mu and sigma are learned.
    """

    def __init__(
        self,
        mu_initial_value=0.0,
        sigma_initial_value=1.0,
        trainable_parameters=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.mu_initial_value = _validation.finite_float(
            "mu_initial_value", mu_initial_value
        )
        self.sigma_initial_value = _validation.positive_float(
            "sigma_initial_value", sigma_initial_value
        )
        self.trainable_parameters = bool(trainable_parameters)

    def build(self, features_shape=None, alpha_shape=None):
        # Scalar parameters: the shapes are not needed. Built from the noise
        # layer's `build` so their paths nest under the noise layer's name.
        self.mu = self.add_weight(
            shape=(),
            name="mu",
            initializer=keras.initializers.Constant(self.mu_initial_value),
            trainable=self.trainable_parameters,
        )
        self.sigma = self.add_weight(
            shape=(),
            name="sigma",
            initializer=keras.initializers.Constant(self.sigma_initial_value),
            trainable=self.trainable_parameters,
        )

    def call(self, features, alpha, alpha_upper):
        del alpha_upper  # A proper prior needs no renormalisation.
        log_features = ops.log(
            ops.maximum(ops.cast(features, "float32"), LOG_FEATURE_FLOOR)
        )
        alpha = ops.cast(alpha, "float32")
        variance_ratio = ops.square(alpha / self.sigma)
        mean_term = ops.square(log_features - self.mu) / ops.square(self.sigma)
        return (
            0.5 * (variance_ratio + mean_term - 1.0)
            + ops.log(self.sigma)
            - ops.log(alpha)
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mu_initial_value": self.mu_initial_value,
                "sigma_initial_value": self.sigma_initial_value,
                "trainable_parameters": self.trainable_parameters,
            }
        )
        return config


_ALIASES = {
    "log_uniform": LogUniformPrior,
    "loguniform": LogUniformPrior,
    "relu": LogUniformPrior,
    "log_normal": LogNormalPrior,
    "lognormal": LogNormalPrior,
    "softplus": LogNormalPrior,
}


def get(identifier):
    """Returns a prior from a name, a serialised config or an instance.

    Args:
        identifier: One of `"log_uniform"` (alias `"relu"`), `"log_normal"`
            (alias `"softplus"`), a dict produced by
            `keras.saving.serialize_keras_object`, or a `Prior` instance
            (returned as is).

    Returns:
        A `Prior` instance. A name always gives a new, unshared instance.

    Raises:
        ValueError: if the identifier names no known prior.
    """
    if isinstance(identifier, Prior):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _ALIASES:
            raise ValueError(
                "Invalid value received for argument `prior`. Expected one "
                f"of {sorted(_ALIASES)} or a `Prior` instance. "
                f"Received: prior={identifier!r}"
            )
        return _ALIASES[key]()
    if isinstance(identifier, dict):
        prior = keras.saving.deserialize_keras_object(identifier)
        if isinstance(prior, Prior):
            return prior
    raise ValueError(
        "Invalid value received for argument `prior`. Expected a prior name "
        f"({sorted(_ALIASES)}), a serialised prior or a `Prior` instance. "
        f"Received: prior={identifier!r}"
    )
