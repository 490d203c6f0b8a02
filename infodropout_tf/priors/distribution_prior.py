"""Any TensorFlow Probability distribution as the prior, and its builders.

`DistributionPrior` wraps a `tfd` distribution built from the prior's own
weights by a registered function; `log_normal` and `log_normal_mixture`
are such functions, and `per_unit_log_normal_prior` is the log-normal
prior with one learned mu and sigma per unit that the VAE offers.
"""

import keras
import numpy as np
import tensorflow_probability as tfp
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.priors.base import Prior
from infodropout_tf.priors.base import clamped_posterior
from infodropout_tf.priors.log_normal_prior import MIN_SIGMA
from infodropout_tf.priors.log_normal_prior import LogNormalPrior

tfd = tfp.distributions
tfb = tfp.bijectors

SUPPORTS = ("z", "log_z")
KL_METHODS = ("auto", "monte_carlo")


def _as_initial_value(name, value):
    """A parameter's initial value as a finite float32 array (any rank)."""
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        array = None
    valid = (
        array is not None
        and not isinstance(value, (bool, np.bool_, str))
        and array.size > 0
        and bool(np.all(np.isfinite(array)))
    )
    if not valid:
        raise _validation.error(
            "parameters",
            "a dict mapping names to finite floats or nested lists of "
            "finite floats",
            f"parameters[{name!r}]={value!r}",
        )
    return array.astype("float32")


def _resolve_distribution_fn(distribution_fn):
    if isinstance(distribution_fn, str):
        resolved = keras.saving.get_registered_object(distribution_fn)
        if resolved is None or not callable(resolved):
            raise _validation.error(
                "distribution_fn",
                "a callable or the registered name of a function (see "
                "`keras.saving.register_keras_serializable`)",
                f"distribution_fn={distribution_fn!r}",
            )
        return resolved
    if not callable(distribution_fn):
        raise _validation.error(
            "distribution_fn",
            "a callable or the registered name of a function",
            f"distribution_fn={distribution_fn!r}",
        )
    return distribution_fn


@keras.saving.register_keras_serializable(package="infodropout_tf")
class DistributionPrior(Prior):
    """Any TensorFlow Probability distribution as the prior q(z).

    `distribution_fn(parameters)` builds a float32 `tfd.Distribution` with
    scalar events from a dict of the prior's weights (float32 tensors, one
    per entry of `parameters`), over z > 0 (`support="z"`) or over log z
    (`support="log_z"`). Its batch shape must broadcast against the
    features' shape: () for one prior shared by all units, (channels,) for
    a per-channel prior. Unconstrained weights are the function's to map,
    e.g. a scale through `tf.math.softplus`.

    The KL map of the posterior p(z|x) = LogNormal(log f, alpha) (with
    log f = log(max(f, 1e-4)), `clamped_posterior`) is:

    * `tfd.kl_divergence(posterior, prior)` when TFP has that KL
      registered (over log z the posterior is `tfd.Normal(log f, alpha)`;
      the KL is the same, being invariant under z -> log z), with
      `kl_method="auto"`;
    * otherwise, or with `kl_method="monte_carlo"`, the one-sample
      estimate -H[p(z|x)] - log q(z) at the layer's own sample
      z = exp(log f + alpha * n): unbiased (the entropy is exact) and
      reparameterised, so gradients reach alpha, f and the prior's
      weights. The layer draws n also at inference for this estimate, so
      the KL term that `evaluate` reports is random.

    The prior is serialisable when `distribution_fn` is registered with
    `keras.saving.register_keras_serializable` (the config stores its
    registered name and the initial values); `distribution_fn` can also be
    given by that name. `log_normal` and `log_normal_mixture` in this
    module are registered builders.

    Args:
        distribution_fn: Callable `parameters -> tfd.Distribution`, or the
            registered name of one (e.g. "infodropout_tf>log_normal_mixture").
        parameters: Dict mapping weight names to initial values, finite
            floats or nested lists of them (the weight takes their shape).
        per_channel: Names of parameters repeated per feature channel: the
            weight has shape (channels, *shape of the initial value).
        support: `"z"` (a distribution over z > 0) or `"log_z"`.
        kl_method: `"auto"` (analytic when registered) or
            `"monte_carlo"`.
        trainable_parameters: Boolean, whether the weights are learned.

    Example, a learnable mixture of two log-normals:

    >>> @keras.saving.register_keras_serializable(package="my_priors")
    ... def mixture(p):
    ...     return tfd.MixtureSameFamily(
    ...         tfd.Categorical(logits=p["logits"]),
    ...         tfd.LogNormal(p["loc"], tf.math.softplus(p["scale"])))
    >>> prior = DistributionPrior(mixture, {"logits": [0.0, 0.0],
    ...                                     "loc": [-2.0, 0.0],
    ...                                     "scale": [0.5, 0.5]})
    >>> layer = InformationDropout(prior=prior)
    """

    def __init__(
        self,
        distribution_fn,
        parameters=None,
        per_channel=(),
        support="z",
        kl_method="auto",
        trainable_parameters=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.distribution_fn = _resolve_distribution_fn(distribution_fn)
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, dict) or not all(
            isinstance(name, str) for name in parameters
        ):
            raise _validation.error(
                "parameters", "a dict with string keys", f"parameters={parameters!r}"
            )
        self.initial_values = {
            name: _as_initial_value(name, value) for name, value in parameters.items()
        }
        if isinstance(per_channel, str):
            per_channel = (per_channel,)
        unknown = [name for name in per_channel if name not in parameters]
        if unknown:
            raise _validation.error(
                "per_channel",
                f"names among the parameters {sorted(parameters)}",
                f"per_channel={tuple(per_channel)!r}",
            )
        self.per_channel = tuple(per_channel)
        self.support = _validation.one_of("support", support, SUPPORTS)
        self.kl_method = _validation.one_of("kl_method", kl_method, KL_METHODS)
        self.trainable_parameters = bool(trainable_parameters)
        self.requires_noise = self.kl_method == "monte_carlo"

    def build(self, features_shape=None, alpha_shape=None):
        channels = None if features_shape is None else features_shape[-1]
        if self.per_channel and channels is None:
            raise ValueError(
                "A DistributionPrior with per-channel parameters "
                f"{list(self.per_channel)} needs features with a known last "
                f"dimension. Received: features shape {features_shape}"
            )
        self.parameter_weights = {}
        # Sorted: the order of saved weights must not depend on dict order.
        for name in sorted(self.initial_values):
            value = self.initial_values[name]
            if name in self.per_channel:
                value = np.broadcast_to(value, (channels, *value.shape))
            self.parameter_weights[name] = self.add_weight(
                shape=value.shape,
                name=name,
                initializer=keras.initializers.Constant(value),
                trainable=self.trainable_parameters,
            )
        self._check_distribution(features_shape)
        if self.kl_method == "auto":
            try:
                tfd.kl_divergence(self._posterior(1.0, 0.5), self.built_distribution())
            except NotImplementedError:
                self.requires_noise = True

    def _check_distribution(self, features_shape):
        distribution = self.built_distribution()
        name = getattr(self.distribution_fn, "__name__", repr(self.distribution_fn))
        if not isinstance(distribution, tfd.Distribution):
            raise ValueError(
                f"`distribution_fn` {name} must return a `tfd.Distribution`. "
                f"Received: {distribution!r}"
            )
        if distribution.dtype != "float32" or distribution.event_shape.rank != 0:
            raise ValueError(
                f"`distribution_fn` {name} must return a float32 distribution "
                "with scalar events (one value per unit). Received: dtype "
                f"{distribution.dtype}, event shape {distribution.event_shape}"
            )
        if features_shape is not None:
            try:
                np.broadcast_shapes(
                    tuple(distribution.batch_shape),
                    tuple(1 if d is None else d for d in features_shape),
                )
            except ValueError:
                raise ValueError(
                    f"The batch shape {tuple(distribution.batch_shape)} of the "
                    f"distribution built by {name} does not broadcast against "
                    f"the features' shape {tuple(features_shape)}."
                ) from None

    def built_distribution(self):
        """What `distribution_fn` builds from the current weights."""
        return self.distribution_fn(
            {
                name: ops.convert_to_tensor(weight)
                for name, weight in self.parameter_weights.items()
            }
        )

    def distribution(self):
        """The prior over z > 0 (through `tfb.Exp` when over log z)."""
        distribution = self.built_distribution()
        if self.support == "log_z":
            return tfd.TransformedDistribution(distribution, tfb.Exp())
        return distribution

    def _posterior(self, log_features, alpha):
        """p(z|x) over the prior's support."""
        if self.support == "log_z":
            return tfd.Normal(loc=log_features, scale=alpha)
        return tfd.LogNormal(loc=log_features, scale=alpha)

    def call(self, features, alpha, alpha_upper, noise=None):
        del alpha_upper  # A proper prior needs no renormalisation.
        clamped = clamped_posterior(features, alpha)
        posterior = self._posterior(clamped.loc, clamped.scale)
        prior = self.built_distribution()
        if not self.requires_noise:
            return tfd.kl_divergence(posterior, prior)
        if noise is None:
            raise ValueError(
                "The Monte-Carlo KL of this DistributionPrior needs the "
                "layer's standard-normal draw: call it with `noise`."
            )
        log_z = clamped.loc + clamped.scale * ops.cast(noise, "float32")
        sample = log_z if self.support == "log_z" else ops.exp(log_z)
        return -posterior.entropy() - prior.log_prob(sample)

    def get_config(self):
        config = super().get_config()
        registered = keras.saving.get_registered_name(self.distribution_fn)
        if keras.saving.get_registered_object(registered) is not self.distribution_fn:
            raise ValueError(
                "A DistributionPrior can be saved only when its "
                "`distribution_fn` is registered with "
                "`keras.saving.register_keras_serializable`. Received: "
                f"distribution_fn={self.distribution_fn!r}"
            )
        config.update(
            {
                "distribution_fn": registered,
                "parameters": {
                    name: value.tolist() for name, value in self.initial_values.items()
                },
                "per_channel": list(self.per_channel),
                "support": self.support,
                "kl_method": self.kl_method,
                "trainable_parameters": self.trainable_parameters,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="infodropout_tf")
def log_normal(parameters):
    """`tfd.LogNormal(loc, softplus(scale) + 1e-3)` from `parameters`.

    A builder for `DistributionPrior`, e.g. a learnable per-channel
    log-normal prior:
    `DistributionPrior("infodropout_tf>log_normal", {"loc": 0.0,
    "scale": 0.5413}, per_channel=("loc", "scale"))` (softplus(0.5413) +
    1e-3 = 1).
    """
    scale = tfb.Softplus(low=MIN_SIGMA).forward(parameters["scale"])
    return tfd.LogNormal(loc=parameters["loc"], scale=scale)


@keras.saving.register_keras_serializable(package="infodropout_tf")
def log_normal_mixture(parameters):
    """A mixture of log-normals from `parameters` "logits", "loc", "scale".

    The components lie along the last axis of each parameter; the scales
    are softplus(scale) + 1e-3. A builder for `DistributionPrior`.
    """
    scale = tfb.Softplus(low=MIN_SIGMA).forward(parameters["scale"])
    return tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(logits=parameters["logits"]),
        components_distribution=tfd.LogNormal(loc=parameters["loc"], scale=scale),
    )



def per_unit_log_normal_prior():
    """Log-normal prior with a learned mu and sigma per unit.

    A `DistributionPrior` over the registered `log_normal` builder, both
    parameters per channel, starting where `LogNormalPrior` starts
    (mu = 0, sigma = softplus(u) + 1e-3 = 1) so that only the sharing of
    the parameters differs from the original's prior. The VAE's
    `prior="log_normal_per_unit"`; a departure from the original.
    """
    return DistributionPrior(
        "infodropout_tf>log_normal",
        {"loc": 0.0, "scale": LogNormalPrior.unconstrained_value(1.0)},
        per_channel=("loc", "scale"),
    )
