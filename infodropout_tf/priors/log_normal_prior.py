"""The log-normal prior of softplus activations, with learned mu and sigma."""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.priors.base import Prior
from infodropout_tf.priors.base import clamped_posterior

tfd = tfp.distributions
tfb = tfp.bijectors

# The log-normal prior's sigma is softplus(u) + MIN_SIGMA for an unconstrained
# weight u: positive by construction, and bounded away from 0 so that the
# KL's 1 / sigma^2 cannot overflow where a raw sigma weight would reach 0.
# Equal to the smallest posterior scale (`ALPHA_MIN` of the layer).
MIN_SIGMA = 1e-3

# Key under which `LogNormalPrior` also writes sigma itself into saved
# weights, beside mu ("0") and u ("1").
_SIGMA_KEY = "sigma"


@keras.saving.register_keras_serializable(package="infodropout_tf")
class LogNormalPrior(Prior):
    """Log-normal prior q(z) = `tfd.LogNormal(mu, sigma)`, mu and sigma learned.

    Used with softplus activations, whose outputs are approximately
    log-normal (paper section 5, Prop. 3). The KL map is
    `tfd.kl_divergence(tfd.LogNormal(log f, alpha), self.distribution())`
    with log f = log(max(f, 1e-4)) (`clamped_posterior`), which is the
    original's closed form (`KL_div2`), the KL between the Gaussians of the
    logs:

        KL = 1/2 * ((alpha / sigma)^2 + (log f - mu)^2 / sigma^2 - 1)
             + log(sigma) - log(alpha)

    `mu` is a trainable scalar initialised to `mu_initial_value` (0, as in
    the original). sigma is positive by construction: it is
    `softplus(u) + 1e-3` (`tfb.Softplus(low=MIN_SIGMA)`) of an unconstrained
    trainable scalar u, initialised so that sigma starts at
    `sigma_initial_value` (1, as in the original). The original used sigma
    as a raw weight, which a large KL gradient can drive negative (a NaN
    loss); u can take any value. Weight decay on the model's variables
    therefore acts on u, not on sigma.

    Saved weights hold mu, u and, for a reader of the file, sigma itself.

    Args:
        mu_initial_value: Finite float, initial mean of log z under the
            prior.
        sigma_initial_value: Finite float > 1e-3 (`MIN_SIGMA`), initial
            standard deviation of log z.
        trainable_parameters: Boolean, whether mu and sigma are learned.

    Attributes:
        mu: The weight mu.
        unconstrained_sigma: The weight u.
        sigma: float32 tensor, softplus(u) + 1e-3 (read-only).
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
        if self.sigma_initial_value <= MIN_SIGMA:
            raise _validation.error(
                "sigma_initial_value",
                f"a float greater than {MIN_SIGMA:g} (sigma = softplus(u) + "
                f"{MIN_SIGMA:g})",
                f"sigma_initial_value={sigma_initial_value!r}",
            )
        self.trainable_parameters = bool(trainable_parameters)

    @classmethod
    def unconstrained_value(cls, sigma):
        """The float32 u whose softplus(u) + 1e-3 is closest to sigma.

        The float64 inverse log(expm1(sigma - 1e-3)), rounded to float32,
        can map back one float32 step away from sigma; of it and its
        neighbours the one that maps closest is taken, so that sigma = 1
        starts at exactly 1 as in the original.

        Raises:
            ValueError: if sigma is not greater than 1e-3.
        """
        sigma = float(sigma)
        if not sigma > MIN_SIGMA:
            raise ValueError(
                f"sigma must be greater than {MIN_SIGMA:g} to be represented "
                f"as softplus(u) + {MIN_SIGMA:g}. Received: sigma={sigma!r}"
            )
        shifted = sigma - MIN_SIGMA
        # log(expm1(s)), written so that it does not overflow for large s.
        guess = np.float32(shifted + math.log(-math.expm1(-shifted)))
        candidates = [guess]
        for direction in (np.inf, -np.inf):
            candidate = guess
            for _ in range(2):
                candidate = np.nextafter(candidate, np.float32(direction))
                candidates.append(candidate)
        # Evaluated eagerly by the bijector that maps u, also when a layer
        # is built inside a traced function.
        with tf.init_scope():
            mapped = cls.sigma_bijector().forward(np.asarray(candidates)).numpy()
        best = int(np.argmin(np.abs(mapped.astype("float64") - sigma)))
        return float(candidates[best])

    def build(self, features_shape=None, alpha_shape=None):
        # Scalar parameters: the shapes are not needed. Built from the noise
        # layer's `build` so their paths nest under the noise layer's name.
        self.mu = self.add_weight(
            shape=(),
            name="mu",
            initializer=keras.initializers.Constant(self.mu_initial_value),
            trainable=self.trainable_parameters,
        )
        self.unconstrained_sigma = self.add_weight(
            shape=(),
            name="unconstrained_sigma",
            initializer=keras.initializers.Constant(
                self.unconstrained_value(self.sigma_initial_value)
            ),
            trainable=self.trainable_parameters,
        )

    @staticmethod
    def sigma_bijector():
        """`tfb.Softplus(low=1e-3)`, the map from u to sigma."""
        # Built on demand: a bijector made at import would initialise the
        # TensorFlow runtime before users can configure devices.
        return tfb.Softplus(low=MIN_SIGMA)

    @property
    def sigma(self):
        return self.sigma_bijector().forward(
            ops.convert_to_tensor(self.unconstrained_sigma)
        )

    def distribution(self):
        """`tfd.LogNormal(mu, sigma)` with the current values (float32)."""
        return tfd.LogNormal(loc=ops.convert_to_tensor(self.mu), scale=self.sigma)

    def call(self, features, alpha, alpha_upper):
        del alpha_upper  # A proper prior needs no renormalisation.
        return tfd.kl_divergence(
            clamped_posterior(features, alpha), self.distribution()
        )

    def save_own_variables(self, store):
        super().save_own_variables(store)
        # Beside mu and u ("0", "1"), sigma itself, so that a reader of the
        # file sees the prior's value without knowing the bijector.
        store[_SIGMA_KEY] = np.asarray(self.sigma)

    def load_own_variables(self, store):
        """Loads mu and u from what `save_own_variables` saved.

        The entry "sigma" follows from u and is not read back.

        Raises:
            ValueError: if the saved entries are not "0" (mu), "1" (u) and
                "sigma".
        """
        keys = sorted(store.keys())
        if keys != ["0", "1", _SIGMA_KEY]:
            raise ValueError(
                f"Cannot load the log-normal prior {self.path!r}: expected "
                f"saved entries ['0', '1', '{_SIGMA_KEY}']. Received: {keys}"
            )
        self.mu.assign(store["0"])
        self.unconstrained_sigma.assign(store["1"])

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
