"""The variational autoencoder with a swappable latent (paper section 7)."""

import math

import keras
import tensorflow_probability as tfp
from keras import ops

from infodropout_tf import _validation
from infodropout_tf import priors
from infodropout_tf.layers import GaussianLatent
from infodropout_tf.layers import InformationDropout
from infodropout_tf.layers.kl_penalty import batch_mean
from infodropout_tf.keras_utils import scale_for_replicas

tfd = tfp.distributions

LATENTS = ("gaussian", "information_dropout")

# What the decoder reads from the information-dropout latent: its output z,
# or log z (see `VAE`).
DECODER_INPUTS = ("z", "log_z")

# Priors of the information-dropout latent: one learned (mu, sigma) for all
# units, as the original, or one per unit (see `VAE`).
PRIORS = ("log_normal", "log_normal_per_unit")


def _activation(activation):
    """`activation` if it names a Keras activation (it is saved by name)."""
    if isinstance(activation, str):
        try:
            keras.activations.get(activation)
            return activation
        except ValueError:
            pass
    raise _validation.error(
        "activation", "the name of a Keras activation, e.g. 'relu' or 'tanh'",
        f"activation={activation!r}",
    )


@keras.saving.register_keras_serializable(package="infodropout_tf")
class VAE(keras.Model):
    """A VAE whose latent is Gaussian or an Information Dropout layer.

    Achille & Soatto (TPAMI 2018, section 7 and Table 1) show that the
    information-bottleneck Lagrangian with y = x and beta = 1 is the VAE's
    negative evidence lower bound, and compare the usual Gaussian latent with
    an Information Dropout latent. Both variants here share the encoder
    trunk (`hidden_layers` dense layers of 512 * width_multiplier units) and
    the decoder (the mirror image, ending in Bernoulli logits per pixel);
    only the latent of 256 * width_multiplier units differs:

    * `"gaussian"`: z ~ N(mu(h), sigma(h)^2), KL to N(0, I)
      (`GaussianLatent`).
    * `"information_dropout"`: z = softplus(W h + b) * eps,
      eps ~ LogNormal(0, alpha(h)^2), KL to a log-normal prior with learned
      mu and sigma (`InformationDropout` with the `"log_normal"` prior, its
      noise scale computed from h).

    The paper says of its VAE only that it replicates "the basic
    variational autoencoder of [5]" (Kingma & Welling 2014) and that "the
    representation z computed by the Information Dropout layer coincides
    with the latent variable z computed by the VAE" (sections 7 and 8).
    The choices it leaves open are arguments; their defaults are the
    setting that the ablation of docs/results.md row 1 and the paper's
    text support, and the ablation measures what each one changes:

    * `decoder_input`: what the decoder reads from the information-dropout
      latent. `"z"`: the layer's output z = f * exp(alpha * n), a
      log-normal, strictly positive input. `"log_z"`: log z =
      log max(f, 1e-4) + alpha * n for the same draw (the layer's
      `log_space` output, log f clamped as in its KL). Over log z the
      posterior is N(log f, alpha^2) and the prior N(mu, sigma^2), with the
      same KL (a KL is invariant under z -> log z, the paper's proof of
      Prop. 3), so with `"log_z"` the latent is a Gaussian latent whose
      sample the decoder reads, as the Gaussian VAE's decoder reads its
      own; with `"z"` the decoder must undo the exponential. The Gaussian
      latent's decoder reads its sample under either value. `"log_z"` by
      default.
    * `activation`: of the hidden layers. `"tanh"` by default, as the MLPs
      of [5] on MNIST.
    * `max_alpha`: the cap of the information-dropout latent's noise
      scale, alpha < max_alpha + 0.001. 0.7 by default: the paper
      constrains alpha(x) < 0.7 "in all experiments" (section 8); the
      original's Cluttered MNIST value is 1.0.
    * `prior`: of the information-dropout latent. `"log_normal"`: Prop.
      3's log-normal prior with two learned scalars mu and sigma shared by
      all units, as in the original implementation. `"log_normal_per_unit"`:
      a learned mu and sigma for each latent unit
      (`priors.per_unit_log_normal_prior`), a departure from the original. A
      unit the decoder does not use costs no KL only when its posterior
      equals its prior; the Gaussian VAE's idle units reach N(0, 1), but
      with one shared (mu, sigma) an idle unit must match the sigma fitted
      to the active units, with an alpha capped at max_alpha + 0.001.
      Per-unit parameters let each idle unit's prior move to its posterior.
      The Gaussian latent's prior is N(0, I) under either value.

    The loss is the negative ELBO in nats per example (0 on an empty
    batch), the Bernoulli negative log-likelihood summed over pixels
    (`decoder_distribution`, a `tfd` object) plus beta times the latent
    layer's KL (`tfd.kl_divergence` of its posterior and prior): the
    paper's Eq. 7, the ELBO for beta = 1 and the beta-VAE objective of
    Higgins et al. (2017) otherwise. `fit` and `evaluate` report it as
    `loss` with its parts `reconstruction` and `kl` (unweighted). beta is
    the latent layer's (`model.latent.beta`, a variable: assigning it, or
    `infodropout_tf.callbacks.BetaSchedule` for a KL warm-up, acts on the
    next step without recompiling). The latent samples also at inference
    (`stochastic_inference=True`), so `evaluate` estimates the ELBO.
    `importance_weighted_log_likelihood` gives the k-sample bound of
    Burda et al. (2016). Train on binary pixels: `fit(x)` with x in {0, 1};
    the target is always the input itself, so labelled data, `fit(x, y)` or
    a dataset of `(image, label)` pairs, trains the same model (y is
    ignored).

    Args:
        latent: `"gaussian"` or `"information_dropout"`.
        input_shape: Shape of one example (28, 28, 1).
        width_multiplier: Integer k: 512k hidden units, 256k latent units.
        hidden_layers: Integer, dense layers in the encoder and in the
            decoder.
        activation: Name of a Keras activation, that of the hidden layers
            (`"tanh"`, as in [5]).
        max_alpha: Finite float > 0, `max_alpha` of the information-dropout
            latent (0.7, the paper's text).
        decoder_input: `"log_z"` or `"z"`, what the decoder reads from the
            information-dropout latent.
        prior: `"log_normal"` or `"log_normal_per_unit"`, the prior of the
            information-dropout latent.
        seed: Integer or None.
        beta: Finite float >= 0, weight of the KL term (1: the ELBO). Its
            current value is saved in the config (see `KLPenalty`).
        **kwargs: Base model keyword arguments.
    """

    def __init__(
        self,
        latent="gaussian",
        input_shape=(28, 28, 1),
        width_multiplier=1,
        hidden_layers=1,
        activation="tanh",
        max_alpha=0.7,
        seed=None,
        beta=1.0,
        decoder_input="log_z",
        prior="log_normal",
        **kwargs,
    ):
        kwargs.setdefault("name", f"vae_{latent}")
        super().__init__(**kwargs)
        self.latent_type = _validation.one_of("latent", latent, LATENTS)
        self.width_multiplier = _validation.positive_int(
            "width_multiplier", width_multiplier
        )
        self.hidden_layers = _validation.positive_int("hidden_layers", hidden_layers)
        # Checked for both latents, though only the information-dropout one
        # uses them, so that a config is valid or not whatever its latent.
        self.max_alpha = _validation.positive_float("max_alpha", max_alpha)
        self.decoder_input = _validation.one_of(
            "decoder_input", decoder_input, DECODER_INPUTS
        )
        self.prior_name = _validation.one_of("prior", prior, PRIORS)
        self.seed = _validation.seed("seed", seed)
        self.image_shape = tuple(input_shape)
        self.activation = _activation(activation)

        hidden_units = 512 * width_multiplier
        latent_units = 256 * width_multiplier
        self.encoder = keras.Sequential(
            [keras.layers.Flatten(name="flatten")]
            + [
                keras.layers.Dense(hidden_units, activation=activation, name=f"hidden{i}")
                for i in range(1, hidden_layers + 1)
            ],
            name="encoder",
        )
        if latent == "gaussian":
            self.latent = GaussianLatent(
                latent_units, beta=beta, stochastic_inference=True, seed=seed,
                name="latent",
            )
        else:
            self.latent_features = keras.layers.Dense(
                latent_units, activation="softplus", name="latent_features"
            )
            self.latent = InformationDropout(
                max_alpha=max_alpha,
                prior=(priors.per_unit_log_normal_prior() if prior == "log_normal_per_unit"
                       else "log_normal"),
                beta=beta, stochastic_inference=True, seed=seed, name="latent",
            )
        self.decoder = keras.Sequential(
            [
                keras.layers.Dense(hidden_units, activation=activation, name=f"hidden{i}")
                for i in range(1, hidden_layers + 1)
            ]
            + [
                keras.layers.Dense(math.prod(self.image_shape), name="logits"),
                keras.layers.Reshape(self.image_shape, name="image"),
            ],
            name="decoder",
        )
        # Built here, outside any call, so that weight paths are the same
        # when the model is created and when it is loaded from a file.
        self.encoder.build((None, *self.image_shape))
        if latent == "gaussian":
            self.latent.build((None, hidden_units))
        else:
            self.latent_features.build((None, hidden_units))
            self.latent.build([(None, latent_units), (None, hidden_units)])
        self.decoder.build((None, latent_units))
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    def encode(self, inputs, training=None):
        """Returns the decoder's input: a latent sample (z, or log z with
        `decoder_input="log_z"`), or the latent's mean (its log) if
        sampling is off."""
        hidden = self.encoder(inputs, training=training)
        if self.latent_type == "gaussian":
            return self.latent(hidden, training=training)
        features = self.latent_features(hidden)
        return self.latent([features, hidden], training=training,
                           log_space=self.decoder_input == "log_z")

    def call(self, inputs, training=None):
        """Returns the Bernoulli logits of the reconstruction."""
        return self.decoder(self.encode(inputs, training=training), training=training)

    def decoder_distribution(self, logits):
        """p(x|z): independent Bernoulli pixels with the decoder's logits.

        A float32 `tfd.Independent(tfd.Bernoulli)` whose event is one image.
        """
        return tfd.Independent(
            tfd.Bernoulli(logits=ops.cast(logits, "float32"), dtype="float32"),
            reinterpreted_batch_ndims=len(self.image_shape),
        )

    def bernoulli_log_likelihood(self, targets, logits):
        """log p(x|z) summed over pixels, per example (leading axes kept)."""
        return self.decoder_distribution(logits).log_prob(ops.cast(targets, "float32"))

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        # y (labels, when the data are (image, label) pairs) is ignored: the
        # VAE reconstructs its input.
        reconstruction = -batch_mean(self.bernoulli_log_likelihood(x, y_pred))
        kl = self.latent.kl_per_example
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return scale_for_replicas(reconstruction + sum(self.losses))

    def latent_distributions(self, hidden):
        """The latent layer's posterior and prior, as `tfd` objects over u.

        u = z for the Gaussian latent: `latent.posterior(hidden)` and
        `latent.prior_distribution()`, both `tfd.Normal`. For the
        information-dropout latent the layer's `tfd.LogNormal` posterior and
        prior are taken over u = log z, through their base distributions
        (`.distribution`, a `tfd.Normal` each): the Jacobian of z = exp(u) is
        the same for both and cancels in the importance weights, and log z
        is drawn without rounding through exp and log. With
        `decoder_input="log_z"` the decoder reads u itself, and the
        posterior's log f is clamped at log 1e-4 as in training
        (`priors.clamped_posterior`), so that k = 1 is the training ELBO's
        own estimator.

        Args:
            hidden: The encoder's output (batch, hidden units).

        Returns:
            `(posterior, prior, to_latent)`: the two distributions and the
            map from u to the decoder's input z.
        """
        if self.latent_type == "gaussian":
            return (self.latent.posterior(hidden), self.latent.prior_distribution(),
                    lambda u: u)
        features = self.latent_features(hidden)
        prior = self.latent.prior.distribution()
        if self.decoder_input == "log_z":
            alpha = self.latent.noise_scale([features, hidden])
            posterior = priors.clamped_posterior(features, alpha)
            return posterior.distribution, prior.distribution, lambda u: u
        posterior = self.latent.posterior([features, hidden])
        return posterior.distribution, prior.distribution, ops.exp

    def importance_weighted_log_likelihood(self, inputs, num_samples=5000):
        """The k-sample importance-weighted bound on log p(x), per example.

        log p(x) >= E[log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)], z_i ~ q(z|x)
        (Burda et al. 2016), with q and p the latent layer's own `tfd`
        distributions (`latent_distributions`); k = 1 is the ELBO with a
        Monte-Carlo KL, and the bound tightens as k grows.

        Args:
            inputs: Binary images (batch, *input_shape).
            num_samples: Integer k.

        Returns:
            float32 tensor (batch,): the estimate in nats.
        """
        num_samples = _validation.positive_int("num_samples", num_samples)
        hidden = self.encoder(inputs, training=False)
        posterior, prior, to_latent = self.latent_distributions(hidden)
        samples = self.latent.draw(posterior, (num_samples,))  # (k, batch, units)
        batch = ops.shape(samples)[1]
        logits = self.decoder(
            ops.reshape(to_latent(samples), (num_samples * batch, -1)), training=False
        )
        logits = ops.reshape(logits, (num_samples, batch, *self.image_shape))
        log_weights = (
            self.bernoulli_log_likelihood(inputs[None], logits)
            + ops.sum(prior.log_prob(samples), axis=-1)
            - ops.sum(posterior.log_prob(samples), axis=-1)
        )
        return ops.logsumexp(log_weights, axis=0) - math.log(num_samples)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latent": self.latent_type,
                "input_shape": self.image_shape,
                "width_multiplier": self.width_multiplier,
                "hidden_layers": self.hidden_layers,
                "activation": self.activation,
                "max_alpha": self.max_alpha,
                "decoder_input": self.decoder_input,
                "prior": self.prior_name,
                "beta": self.latent.beta,
                "seed": self.seed,
            }
        )
        return config
