"""Information Dropout (Achille & Soatto, TPAMI 2018, section 4)."""

import keras
import tensorflow_probability as tfp
from keras import ops

from infodropout_tf import _validation
from infodropout_tf import priors as priors_lib
from infodropout_tf.layers.kl_penalty import KLPenalty
from infodropout_tf.layers.multiplicative_noise import MultiplicativeNoise

tfd = tfp.distributions

# Smallest noise scale, added "for numerical stability" in the original: it
# keeps log(alpha) in the KL finite when the sigmoid saturates at 0.
ALPHA_MIN = 0.001

_CONV_BY_RANK = {
    3: keras.layers.Conv1D,
    4: keras.layers.Conv2D,
    5: keras.layers.Conv3D,
}


@keras.saving.register_keras_serializable(package="infodropout_tf")
class InformationDropout(KLPenalty, MultiplicativeNoise):
    """Multiplicative log-normal noise whose scale is learned per input.

    Implements Information Dropout (Achille & Soatto, "Information Dropout:
    Learning Optimal Representations Through Noisy Computation", TPAMI 2018,
    Eq. 5 and Algorithm 1):

        z = f(x) * eps,   eps ~ LogNormal(0, alpha(x)^2)
        alpha(x) = alpha_min + max_alpha * sigmoid(g(x)),   alpha_min = 0.001

    g is the layer's own linear branch: a dense layer for vector features
    and a convolution ("same" padding, `alpha_kernel_size`,
    `alpha_strides`) for feature maps.

    The distribution of the representation given the input,
    p(z|x) = `tfd.LogNormal(loc=log f(x), scale=alpha(x))`, is
    `layer.posterior(inputs)`. When drawing noise the layer samples it with
    the posterior's reparameterisation, z = f * exp(alpha * n) =
    exp(log f + alpha * n) with n ~ N(0, 1) from the layer's stateless seed
    stream, so gradients reach alpha: for the seed s the layer draws with,
    `layer.posterior(inputs).sample(seed=s)` is its output (up to float32
    rounding of the product against the exp of a sum). The product keeps
    units with f = 0 exactly 0 with the finite gradient eps with respect to
    f; there the posterior is the point mass at 0 (loc = -inf: its sample,
    mean and stddev are 0, its log_prob is not finite).

    The layer adds the information-bottleneck penalty of the paper's
    objective (Eq. 3) with `add_loss` (see `KLPenalty`):

        beta * mean_batch(sum_units KL(p(z|x) || q(z))) / num_train_examples

    where the prior q is `LogUniformPrior` for ReLU features,
    `LogNormalPrior` for softplus features (paper Props. 2 and 3), or any
    TFP distribution through `DistributionPrior`. With
    `num_train_examples`, `model.fit` minimises exactly the original
    implementation's loss; without it the KL is weighted by `beta` alone.

    Two forms:

    * Drop-in, after any layer: `InformationDropout(seed=1)(features)`;
      g reads the features themselves (a 3x3 "same" convolution for feature
      maps, a dense layer for vectors).
    * Block, as in the paper's All-CNN: `layer([features, block_inputs])`
      where `features = conv(block_inputs)` and g reads `block_inputs` with
      the main convolution's kernel size and stride, e.g.
      `InformationDropout(alpha_kernel_size=3, alpha_strides=2)`.

    Noise is drawn only when `training=True` (or always, with
    `stochastic_inference=True`); at inference the layer returns f(x) exactly,
    like the original with sigma0 = 0. Because the noise has median 1 but
    mean exp(alpha^2 / 2), BatchNorm statistics gathered under noise are off
    at inference; the original re-estimates them with the noise off before
    testing.

    Alpha, the noise, the logs and the KL are computed in float32 under any
    dtype policy; the output has the layer's compute dtype. Inputs are not
    checked for NaN, which would cost a pass over every batch: a NaN in the
    inputs gives NaN outputs and a NaN loss.

    Args:
        max_alpha: Finite float > 0, the largest learned noise scale above
            `alpha_min` (0.7 for CIFAR-10, 1.0 for Cluttered MNIST in the
            paper).
        prior: `"log_uniform"` (ReLU, default), `"log_normal"` (softplus),
            or an `infodropout_tf.priors.Prior` instance, such as a
            `DistributionPrior`.
        beta: Finite float >= 0, weight of the KL term; held in a variable
            that `layer.beta = value` assigns during training (see
            `KLPenalty`).
        num_train_examples: Integer > 0 or None, the size of the training
            set N that divides the KL term as in the original implementation.
        alpha_kernel_size: Integer > 0, kernel size of g for feature maps.
        alpha_strides: Integer > 0, strides of g for feature maps; must make
            g's output match the features' spatial shape.
        stochastic_inference: Boolean, draw noise also at inference.
        seed: Integer or None, optional random seed.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Floating-point features f(x) of rank 2 to 5 (channels last),
            or a list `[features, block_inputs]` with floating-point
            `block_inputs` of the same rank. On an empty batch the output
            is empty and the added KL penalty is exactly 0.
        training: Python boolean, whether to draw noise.
        return_kl_map: Boolean. If True, return `(outputs, kl_map)` where
            `kl_map` is the float32 KL of every unit (shape of `features`),
            for KL heatmaps and information-flow summaries.
        log_space: Boolean. If True, return log z instead of z: the log of
            this call's own draw, log max(f, 1e-4) + alpha * n with the same
            n (log max(f, 1e-4) when no noise is drawn). log f is clamped as
            in the log-normal and distribution priors' KL maps, so the
            output's law is exactly N(log max(f, 1e-4), alpha^2), the
            posterior those KLs are of (a KL is the same over z and over
            log z). For a consumer that reads the representation in log
            space, e.g. a VAE decoder (paper section 7: over log z the
            layer is a Gaussian latent).

    Example:

    >>> inputs = keras.Input((784,))
    >>> features = keras.layers.Dense(256, activation="relu")(inputs)
    >>> noisy = InformationDropout(beta=3.0, num_train_examples=60000,
    ...                            seed=1)(features)
    """

    def __init__(
        self,
        max_alpha=0.7,
        prior="log_uniform",
        beta=1.0,
        num_train_examples=None,
        alpha_kernel_size=3,
        alpha_strides=1,
        stochastic_inference=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            stochastic_inference=stochastic_inference, seed=seed, **kwargs
        )
        self.max_alpha = _validation.positive_float("max_alpha", max_alpha)
        self.alpha_kernel_size = _validation.positive_int(
            "alpha_kernel_size", alpha_kernel_size
        )
        self.alpha_strides = _validation.positive_int("alpha_strides", alpha_strides)
        self._init_kl_penalty(beta, num_train_examples)
        self.prior = priors_lib.get(prior)

    @property
    def alpha_upper(self):
        """The largest noise scale the layer can produce."""
        return self.max_alpha + ALPHA_MIN

    def build(self, input_shape):
        if isinstance(input_shape, list) and isinstance(
            input_shape[0], (list, tuple)
        ):
            if len(input_shape) != 2:
                raise ValueError(
                    "Expected `inputs` to be a tensor of features or a list "
                    "[features, block_inputs] of two tensors. "
                    f"Received input shapes: {input_shape}"
                )
            features_shape, block_shape = map(tuple, input_shape)
        else:
            features_shape = block_shape = tuple(input_shape)

        rank = len(features_shape)
        if len(block_shape) != rank:
            raise ValueError(
                "Expected `features` and `block_inputs` of the same rank. "
                f"Received: features shape {features_shape} (rank {rank}) "
                f"and block_inputs shape {block_shape} "
                f"(rank {len(block_shape)})."
            )
        if rank != 2 and rank not in _CONV_BY_RANK:
            raise ValueError(
                "InformationDropout expects features of rank 2 (batch, units) "
                "or 3 to 5 (batch, *spatial, channels). "
                f"Received: features shape {features_shape}"
            )
        channels = features_shape[-1]
        if channels is None:
            raise ValueError(
                "The last (channels) dimension of the features must be "
                f"known. Received: features shape {features_shape}"
            )
        if rank == 2:
            if self.alpha_strides != 1:
                raise ValueError(
                    "`alpha_strides` applies to feature maps only; vector "
                    f"features {features_shape} need alpha_strides=1. "
                    f"Received: alpha_strides={self.alpha_strides}"
                )
            self.alpha_branch = keras.layers.Dense(
                channels, name="alpha_branch", dtype=self.dtype_policy
            )
        else:
            self.alpha_branch = _CONV_BY_RANK[rank](
                channels,
                self.alpha_kernel_size,
                strides=self.alpha_strides,
                padding="same",
                name="alpha_branch",
                dtype=self.dtype_policy,
            )
        self.alpha_branch.build(block_shape)
        if not self.prior.built:
            self.prior.build(features_shape)
        alpha_shape = self.alpha_branch.compute_output_shape(block_shape)
        for alpha_dim, feature_dim in zip(alpha_shape[1:], features_shape[1:]):
            if None not in (alpha_dim, feature_dim) and alpha_dim != feature_dim:
                raise ValueError(
                    "The alpha branch's output shape does not match the "
                    f"features: alpha shape {alpha_shape} from block_inputs "
                    f"shape {block_shape} with alpha_kernel_size="
                    f"{self.alpha_kernel_size}, alpha_strides="
                    f"{self.alpha_strides}, features shape {features_shape}. "
                    "Set `alpha_strides` to the stride of the layer that "
                    "produced the features."
                )

    def check_inputs(self, features, block_inputs):
        super().check_inputs(features, block_inputs)
        if block_inputs is not None:
            # The alpha branch reads them: a convolution of integers fails
            # deep inside Keras otherwise.
            _validation.floating_tensor(self, "block_inputs", block_inputs)

    def _build_for(self, inputs):
        """Builds the layer from concrete inputs, as a first call would."""
        if not self.built:
            features, block_inputs = self._split_inputs(inputs)
            if block_inputs is None:
                self.build(tuple(features.shape))
            else:
                self.build([tuple(features.shape), tuple(block_inputs.shape)])

    def noise_scale(self, inputs):
        """alpha(x) = alpha_min + max_alpha * sigmoid(g(x)), in float32.

        Args:
            inputs: As in `call`.

        Returns:
            float32 tensor with the shape of the features.
        """
        self._build_for(inputs)
        features, block_inputs = self._split_inputs(inputs)
        if block_inputs is None:
            block_inputs = features
        logits = ops.cast(self.alpha_branch(block_inputs), "float32")
        return ALPHA_MIN + self.max_alpha * ops.sigmoid(logits)

    def posterior(self, inputs):
        """p(z|x) = `tfd.LogNormal(loc=log f(x), scale=alpha(x))`, float32.

        The distribution of the layer's noisy output given its inputs
        (paper Eq. 5), with batch shape the features' shape and float32
        parameters under any dtype policy. `sample(seed=s)` is the layer's
        own draw for the stateless seed s (up to float32 rounding; see the
        class docstring), and `tfd.kl_divergence` against
        `LogNormalPrior.distribution()` is the layer's KL map for features
        >= 1e-4.

        Units with f = 0 get loc = -inf: the point mass at 0, which is what
        the layer outputs there (sample, mean and stddev 0; log_prob and
        the KL to a proper prior are not finite; the priors' KL maps clamp
        log f at log 1e-4 instead). The posterior is that of non-negative
        features, the paper's ReLU and softplus activations: for f < 0, z
        is the mirror image of a log-normal, and loc is NaN.

        Args:
            inputs: As in `call`, concrete tensors (not symbolic inputs).

        Returns:
            A `tfd.LogNormal`.
        """
        features, block_inputs = self._split_inputs(inputs)
        self.check_inputs(features, block_inputs)
        alpha = self.noise_scale(inputs)
        return tfd.LogNormal(loc=ops.log(ops.cast(features, "float32")), scale=alpha)

    def call(self, inputs, training=None, return_kl_map=False, log_space=False):
        features, block_inputs = self._split_inputs(inputs)
        self.check_inputs(features, block_inputs)
        alpha = self.noise_scale(inputs)
        draws_noise = self.noise_active(training)
        noise = None
        if draws_noise or self.prior.requires_noise:
            # n of the posterior's reparameterisation exp(log f + alpha * n),
            # drawn once for the output and any Monte-Carlo KL.
            noise = self.standard_normal(ops.shape(features))
        prior_kwargs = {"noise": noise} if self.prior.requires_noise else {}
        kl_map = self.prior(
            features, alpha, alpha_upper=self.alpha_upper, **prior_kwargs
        )
        self.add_kl_penalty(kl_map)
        if log_space:
            # The KL map's clamp of log f (`priors.clamped_posterior`): the
            # output is then a draw of the very posterior the KL is of.
            log_outputs = ops.log(ops.maximum(
                ops.cast(features, "float32"), priors_lib.LOG_FEATURE_FLOOR))
            if draws_noise:
                log_outputs = log_outputs + alpha * noise
            outputs = ops.cast(log_outputs, features.dtype)
        else:
            outputs = features
            if draws_noise:
                # f * exp(alpha * n), not exp(log f + alpha * n): units with
                # f = 0 stay exactly 0 with a finite gradient.
                outputs = self.multiply(features, ops.exp(alpha * noise))
        if return_kl_map:
            return outputs, kl_map
        return outputs

    def compute_output_spec(self, inputs, training=None, return_kl_map=False,
                            log_space=False):
        outputs = super().compute_output_spec(inputs, training=training)
        if return_kl_map:
            kl_map = keras.KerasTensor(outputs.shape, dtype="float32")
            return outputs, kl_map
        return outputs

    def get_config(self):
        prior_config = keras.saving.serialize_keras_object(self.prior)
        # This layer's `build` builds the prior, under this layer's name
        # scope; building it on deserialisation would change weight paths.
        prior_config.pop("build_config", None)
        config = super().get_config()
        config.update(
            {
                "max_alpha": self.max_alpha,
                "prior": prior_config,
                **self.kl_penalty_config(),
                "alpha_kernel_size": self.alpha_kernel_size,
                "alpha_strides": self.alpha_strides,
            }
        )
        return config
