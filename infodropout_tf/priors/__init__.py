"""Priors q(z) for the activations of Information Dropout.

Information Dropout (Achille & Soatto, "Information Dropout: Learning Optimal
Representations Through Noisy Computation", TPAMI 2018) regularises
z = f(x) * eps, eps ~ LogNormal(0, alpha(x)^2), by KL(p(z|x) || q(z)) summed
over units, where p(z|x) is the layer's posterior
`tfd.LogNormal(log f(x), alpha(x))`. The paper derives two closed forms, one
per activation, and any TensorFlow Probability distribution can serve too:

* ReLU: the improper log-uniform prior q(log z) = const (paper Prop. 2),
  `LogUniformPrior` (`log_uniform_prior.py`). No proper `tfd`
  distribution has its KL: it is the documented closed form
  -log(alpha / alpha_upper).
* Softplus: a log-normal prior q(log z) = N(mu, sigma^2) with learnable
  scalars (paper Prop. 3), `LogNormalPrior` (`log_normal_prior.py`):
  `distribution()` is a `tfd.LogNormal` and the KL is `tfd.kl_divergence`.
* Any `tfd` distribution over z > 0 or over log z, e.g. a mixture of
  log-normals or a per-channel log-normal, built from the prior's own
  weights by a function of yours: `DistributionPrior`
  (`distribution_prior.py`, with the builders `log_normal` and
  `log_normal_mixture`). The KL is `tfd.kl_divergence` when TFP has it
  registered, otherwise a Monte-Carlo estimate on the layer's own noise
  draw.

A prior is a small Keras layer (`Prior`, `base.py`):
`prior(features, alpha, alpha_upper)` returns the per-unit KL map in
float32 with the shape of `features`. Priors always compute in float32,
also under a mixed-precision policy, because the KL takes logs of
quantities that can be as small as 1e-3.

The posterior's log-mean log f is -inf where f = 0 (a ReLU's inactive units):
the posterior is then the point mass at 0 and its KL to a proper prior is
infinite. As in the original implementation (`tf.log(tf.maximum(network,
1e-4))`), the KL maps of the log-normal and distribution priors use
log max(f, 1e-4) instead (`clamped_posterior`).

Use `get()` to turn a name (`"log_uniform"`, `"log_normal"`), a serialised
config or an instance into a prior.
"""

import keras

from infodropout_tf.priors.base import LOG_FEATURE_FLOOR
from infodropout_tf.priors.base import Prior
from infodropout_tf.priors.base import clamped_posterior
from infodropout_tf.priors.distribution_prior import KL_METHODS
from infodropout_tf.priors.distribution_prior import SUPPORTS
from infodropout_tf.priors.distribution_prior import DistributionPrior
from infodropout_tf.priors.distribution_prior import log_normal
from infodropout_tf.priors.distribution_prior import log_normal_mixture
from infodropout_tf.priors.distribution_prior import per_unit_log_normal_prior
from infodropout_tf.priors.log_normal_prior import MIN_SIGMA
from infodropout_tf.priors.log_normal_prior import LogNormalPrior
from infodropout_tf.priors.log_uniform_prior import LogUniformPrior

__all__ = [
    "KL_METHODS",
    "LOG_FEATURE_FLOOR",
    "MIN_SIGMA",
    "PRIOR_BY_ACTIVATION",
    "SUPPORTS",
    "DistributionPrior",
    "LogNormalPrior",
    "LogUniformPrior",
    "Prior",
    "clamped_posterior",
    "get",
    "log_normal",
    "log_normal_mixture",
    "per_unit_log_normal_prior",
]

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
