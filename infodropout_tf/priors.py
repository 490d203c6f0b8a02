"""Priors q(z) for the activations of Information Dropout.

Information Dropout (Achille & Soatto, "Information Dropout: Learning Optimal
Representations Through Noisy Computation", TPAMI 2018) regularises
z = f(x) * eps, eps ~ LogNormal(0, alpha(x)^2), by KL(p(z|x) || q(z)) summed
over units, where p(z|x) is the layer's posterior
`tfd.LogNormal(log f(x), alpha(x))`. The paper derives two closed forms, one
per activation, and any TensorFlow Probability distribution can serve too:

* ReLU: the improper log-uniform prior q(log z) = const (paper Prop. 2),
  `LogUniformPrior`. No proper `tfd` distribution has its KL: it is the
  documented closed form -log(alpha / alpha_upper).
* Softplus: a log-normal prior q(log z) = N(mu, sigma^2) with learnable
  scalars (paper Prop. 3), `LogNormalPrior`: `distribution()` is a
  `tfd.LogNormal` and the KL is `tfd.kl_divergence`.
* Any `tfd` distribution over z > 0 or over log z, e.g. a mixture of
  log-normals or a per-channel log-normal, built from the prior's own
  weights by a function of yours: `DistributionPrior`. The KL is
  `tfd.kl_divergence` when TFP has it registered, otherwise a Monte-Carlo
  estimate on the layer's own noise draw.

A prior is a small Keras layer: `prior(features, alpha, alpha_upper)` returns
the per-unit KL map in float32 with the shape of `features`. It is a layer so
that learnable parameters are tracked, saved and mirrored under
tf.distribute like any other weight. Priors always compute in float32, also
under a mixed-precision policy, because the KL takes logs of quantities that
can be as small as 1e-3.

The posterior's log-mean log f is -inf where f = 0 (a ReLU's inactive units):
the posterior is then the point mass at 0 and its KL to a proper prior is
infinite. As in the original implementation (`tf.log(tf.maximum(network,
1e-4))`), the KL maps of the log-normal and distribution priors use
log max(f, 1e-4) instead (`clamped_posterior`).

Use `get()` to turn a name (`"log_uniform"`, `"log_normal"`), a serialised
config or an instance into a prior.
"""

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from infodropout_tf import _validation

tfd = tfp.distributions
tfb = tfp.bijectors

# Activations are clamped at this value before their log is taken (as in the
# original implementation's `tf.log(tf.maximum(network, 1e-4))`), so that the
# log-normal KL stays finite for units that a softplus or ReLU drives to 0.
LOG_FEATURE_FLOOR = 1e-4

# The log-normal prior's sigma is softplus(u) + MIN_SIGMA for an unconstrained
# weight u: positive by construction, and bounded away from 0 so that the
# KL's 1 / sigma^2 cannot overflow where the old raw weight went negative.
# Equal to the smallest posterior scale (`ALPHA_MIN` of the layer).
MIN_SIGMA = 1e-3

# Key under which `LogNormalPrior` also writes sigma itself into saved
# weights; its presence marks files written with the softplus
# parameterisation (see `LogNormalPrior.load_own_variables`).
_SIGMA_KEY = "sigma"


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

    Files saved with the raw-sigma parameterisation load: their sigma is
    converted to u (see `load_own_variables`).

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
        # Beside mu and u ("0", "1"), sigma itself: it marks the
        # parameterisation for `load_own_variables`, and a reader of the
        # file sees the prior's value without knowing the bijector.
        store[_SIGMA_KEY] = np.asarray(self.sigma)

    def load_own_variables(self, store):
        """Loads mu and u; converts the raw sigma of files saved before u.

        Files written by this class hold "0" (mu), "1" (u) and "sigma".
        Files written when sigma was itself the weight hold "0" (mu) and
        "1" (sigma): u is set so that softplus(u) + 1e-3 = sigma.

        Raises:
            ValueError: for such an older file whose sigma is not greater
                than 1e-3 (a sigma that training had driven negative: the
                model's loss was NaN and its prior cannot be restored).
        """
        keys = set(store.keys())
        if keys == {"0", "1", _SIGMA_KEY}:
            unconstrained = store["1"]
        elif keys == {"0", "1"}:
            legacy_sigma = float(np.asarray(store["1"]))
            if not legacy_sigma > MIN_SIGMA:
                self._legacy_load_error = ValueError(
                    f"Cannot load the log-normal prior {self.path!r}: the file "
                    f"stores sigma={legacy_sigma!r} as a raw weight (saved before "
                    "sigma was parameterised as softplus(u) + "
                    f"{MIN_SIGMA:g}). A sigma <= {MIN_SIGMA:g} cannot be "
                    "represented; a negative one means training had diverged "
                    "(its KL, and the model's loss, were NaN). Retrain the "
                    "model with this version."
                )
                raise self._legacy_load_error
            unconstrained = self.unconstrained_value(legacy_sigma)
        elif not keys and getattr(self, "_legacy_load_error", None):
            # Keras retries a failed object along its other paths in the
            # model, where nothing is stored, and reports the last error:
            # keep it the informative one.
            raise self._legacy_load_error
        else:
            raise ValueError(
                f"Cannot load the log-normal prior {self.path!r}: expected "
                "saved entries ['0', '1'] or ['0', '1', 'sigma']. "
                f"Received: {sorted(keys)}"
            )
        self.mu.assign(store["0"])
        self.unconstrained_sigma.assign(unconstrained)

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


# The prior that matches each activation (paper section 5, Props. 2 and 3):
# scale-invariant ReLU features get the log-uniform prior, softplus ones the
# log-normal. The models and `get`'s activation aliases both read it here.
PRIOR_BY_ACTIVATION = {"relu": "log_uniform", "softplus": "log_normal"}

_NAMES = {
    "log_uniform": LogUniformPrior,
    "loguniform": LogUniformPrior,
    "log_normal": LogNormalPrior,
    "lognormal": LogNormalPrior,
}
_ALIASES = {**_NAMES, **{activation: _NAMES[name]
                         for activation, name in PRIOR_BY_ACTIVATION.items()}}


def get(identifier):
    """Returns a prior from a name, a serialised config or an instance.

    Args:
        identifier: One of `"log_uniform"` (alias `"relu"`), `"log_normal"`
            (alias `"softplus"`), a dict produced by
            `keras.saving.serialize_keras_object`, or a `Prior` instance
            (returned as is), e.g. a `DistributionPrior`.

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
