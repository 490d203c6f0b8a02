"""The improper log-uniform prior q(z) ~ c / z of ReLU activations."""

import keras
from keras import ops

from infodropout_tf.priors.base import Prior


@keras.saving.register_keras_serializable(package="infodropout_tf")
class LogUniformPrior(Prior):
    """Improper log-uniform prior q(z) ~ c / z, for ReLU activations.

    The log-uniform prior is the scale-invariant prior that matches the
    scale invariance of ReLU networks (paper section 5, Prop. 2). It is
    improper, so it is no `tfd.Distribution` and TFP has no KL for it:
    `distribution()` raises, `log_prob(z)` is -log z (up to the prior's
    arbitrary constant), and the KL map is the closed form. The KL of a
    log-normal posterior against it is -log(alpha) up to that constant; as
    in the original implementation the constant is chosen so that the KL is
    0 at the largest alpha the layer can produce:

        KL = -log(alpha / alpha_upper),   alpha_upper = max_alpha + alpha_min

    The value therefore measures information relative to the noisiest
    admissible channel, not an absolute number of nats; it does not depend
    on the activations. (It is the negative entropy of the posterior's log,
    -log(alpha) - log(2 pi e) / 2, shifted by a constant.)

    Example:

    >>> prior = LogUniformPrior()
    >>> kl = prior(features, alpha, alpha_upper=0.701)
    """

    def distribution(self):
        raise NotImplementedError(
            "The log-uniform prior q(z) ~ 1/z is improper: it has no "
            "`tfd.Distribution`. Use `log_prob(z)` (= -log z, up to a "
            "constant) or the KL map `prior(features, alpha, alpha_upper)`."
        )

    def log_prob(self, z):
        """log q(z) = -log z, up to the improper prior's constant."""
        return -ops.log(ops.cast(z, "float32"))

    def call(self, features, alpha, alpha_upper):
        del features  # The log-uniform KL depends on alpha alone.
        alpha = ops.cast(alpha, "float32")
        return ops.log(alpha_upper) - ops.log(alpha)
