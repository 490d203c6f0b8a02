"""The Gaussian latent of the VAE and of the Deep Variational IB."""

import keras
import tensorflow_probability as tfp
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.layers.kl_penalty import KLPenalty
from infodropout_tf.layers.noise_layer import NoiseLayer

tfd = tfp.distributions

# Floor of the posterior standard deviation: keeps log(sigma) in the KL
# finite when the softplus underflows.
SIGMA_MIN = 1e-4


@keras.saving.register_keras_serializable(package="infodropout_tf")
class GaussianLatent(KLPenalty, NoiseLayer):
    """Reparameterised Gaussian latent z ~ N(mu(h), diag(sigma(h)^2)).

    The encoder head of the variational autoencoder (Kingma & Welling 2014;
    the `gaussian` latent of Achille & Soatto, TPAMI 2018, section 7) and of
    the Deep Variational Information Bottleneck (Alemi et al. 2016):

        mu = W_mu h + b_mu,   sigma = softplus(W_s h + b_s) + 1e-4
        z = mu + sigma * n,   n ~ N(0, I)

    The posterior q(z|x) is `layer.posterior(h)`, a `tfd.Normal(mu, sigma)`
    with batch shape (batch, units), and the prior
    `layer.prior_distribution()` is `tfd.Normal(0, 1)`. The per-unit KL map
    is `tfd.kl_divergence` of the two (the original implementation's
    `KL_div`), added through `add_loss` as
    beta * batch-mean(sum over units) / num_train_examples (see
    `KLPenalty`). Like the other noise layers it samples when training or
    with `stochastic_inference`, and returns the mean mu otherwise; its
    sample for the stateless seed s is `posterior(h).sample(seed=s)`
    exactly (`NoiseLayer.draw`). Computations after the two dense heads are
    float32.

    Args:
        units: Integer > 0, dimension of the latent.
        beta: Finite float >= 0, weight of the KL term (1 for the VAE's
            ELBO); held in a variable that `layer.beta = value` assigns
            during training (see `KLPenalty`).
        num_train_examples: Integer > 0 or None, divides the KL term.
        stochastic_inference: Boolean, sample also at inference.
        seed: Integer or None, optional random seed.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: Floating-point tensor (batch, features), the encoder's last
            hidden layer. Integer and boolean inputs raise a `ValueError`,
            as in the other noise layers. On an empty batch the output is
            empty and the added KL penalty is exactly 0.
        training: Python boolean, whether to sample.
        return_kl_map: Boolean. If True, return `(z, kl_map)`, the float32
            KL of every latent unit.
    """

    def __init__(
        self,
        units,
        beta=1.0,
        num_train_examples=None,
        stochastic_inference=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            stochastic_inference=stochastic_inference, seed=seed, **kwargs
        )
        self.units = _validation.positive_int("units", units)
        self._init_kl_penalty(beta, num_train_examples)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "GaussianLatent expects inputs of rank 2 (batch, features). "
                f"Received: input shape {tuple(input_shape)}"
            )
        self.mean_dense = keras.layers.Dense(
            self.units, name="mean", dtype=self.dtype_policy
        )
        self.scale_dense = keras.layers.Dense(
            self.units, name="scale", dtype=self.dtype_policy
        )
        self.mean_dense.build(input_shape)
        self.scale_dense.build(input_shape)

    def posterior(self, inputs):
        """q(z|x) = `tfd.Normal(mu(h), sigma(h))` for encoder outputs h.

        Args:
            inputs: Floating-point tensor (batch, features), concrete.

        Returns:
            A float32 `tfd.Normal` with batch shape (batch, units).
        """
        _validation.floating_tensor(self, "inputs", inputs)
        if not self.built:
            self.build(tuple(inputs.shape))
        mu = ops.cast(self.mean_dense(inputs), "float32")
        sigma = ops.softplus(ops.cast(self.scale_dense(inputs), "float32"))
        return tfd.Normal(loc=mu, scale=sigma + SIGMA_MIN)

    @staticmethod
    def prior_distribution():
        """p(z) = `tfd.Normal(0, 1)` per unit, float32."""
        return tfd.Normal(loc=ops.zeros((), "float32"), scale=ops.ones((), "float32"))

    def call(self, inputs, training=None, return_kl_map=False):
        posterior = self.posterior(inputs)
        kl_map = tfd.kl_divergence(posterior, self.prior_distribution())
        self.add_kl_penalty(kl_map)
        z = posterior.loc
        if self.noise_active(training):
            z = self.draw(posterior)
        z = ops.cast(z, self.compute_dtype)
        if return_kl_map:
            return z, kl_map
        return z

    def compute_output_spec(self, inputs, training=None, return_kl_map=False):
        _validation.floating_tensor(self, "inputs", inputs)
        z = keras.KerasTensor((inputs.shape[0], self.units), dtype=self.compute_dtype)
        if return_kl_map:
            return z, keras.KerasTensor(z.shape, dtype="float32")
        return z

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, **self.kl_penalty_config()})
        return config
