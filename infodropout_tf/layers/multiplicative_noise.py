"""The contract shared by Information Dropout and its baselines.

Every noise layer of the package multiplies its features by random noise,
z = f(x) * eps, and shares one interface so that a model can swap them by
name (`infodropout_tf.layers.get`):

* `layer(features)`: drop-in form, after any layer.
* `layer([features, block_inputs])`: block form, where the noise parameters
  may be computed from the input of the block that produced `features` (as in
  the paper's information-dropout block). Layers whose noise does not depend
  on the input ignore `block_inputs`.
* Noise is drawn when `training=True`, or always when the layer was built
  with `stochastic_inference=True` (Monte-Carlo prediction); otherwise the
  layer returns `features` exactly.
* Random draws come from the layer's own `keras.random.SeedGenerator`, with
  the replica id folded into the seed so that under tf.distribute every
  replica draws different noise, while a fixed seed reproduces the same
  draws on one device.
"""

import keras
import tensorflow as tf
from keras import ops


class MultiplicativeNoise(keras.layers.Layer):
    """Base class of the package's noise layers.

    Args:
        stochastic_inference: Boolean. If True, noise is drawn also when
            `training=False`, for Monte-Carlo prediction. Saved with the
            layer's config. See also `set_stochastic_inference`.
        seed: Integer, optional seed of the layer's random draws.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A tensor of features, or a list `[features, block_inputs]`.
        training: Python boolean, whether the layer is called in training
            mode (noise on) or inference mode (noise off unless
            `stochastic_inference`).
    """

    def __init__(self, stochastic_inference=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and not isinstance(seed, int):
            raise ValueError(
                "Invalid value received for argument `seed`. Expected an "
                f"integer or None. Received: seed={seed!r}"
            )
        self.stochastic_inference = bool(stochastic_inference)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    @staticmethod
    def _split_inputs(inputs):
        """Returns `(features, block_inputs)`; `block_inputs` may be None."""
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(
                    "Expected `inputs` to be a tensor of features or a list "
                    "[features, block_inputs] of two tensors. "
                    f"Received: a list of {len(inputs)} tensors."
                )
            return inputs[0], inputs[1]
        return inputs, None

    def noise_active(self, training):
        """Whether a call with this `training` value draws noise."""
        return bool(training) or self.stochastic_inference

    def _next_seed(self):
        """A stateless seed, different on every call and every replica."""
        seed = self.seed_generator.next()
        replica_context = tf.distribute.get_replica_context()
        replica_id = (
            0
            if replica_context is None
            else replica_context.replica_id_in_sync_group
        )
        # Mirrored seed-generator state is identical on all replicas, so
        # without this every replica would draw the same noise pattern.
        seed = tf.random.experimental.stateless_fold_in(
            tf.cast(seed, "int64"), tf.cast(replica_id, "int64")
        )
        # Stateless kernels want int32 seeds to compile with XLA.
        return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")

    def standard_normal(self, shape):
        """float32 N(0, 1) draws of `shape` from the layer's seed stream."""
        return tf.random.stateless_normal(
            shape, seed=self._next_seed(), dtype="float32"
        )

    def uniform(self, shape):
        """float32 U[0, 1) draws of `shape` from the layer's seed stream."""
        return tf.random.stateless_uniform(
            shape, seed=self._next_seed(), dtype="float32"
        )

    @staticmethod
    def multiply(features, noise):
        """features * noise in float32, returned in the features' dtype."""
        return ops.cast(ops.cast(features, "float32") * noise, features.dtype)

    def sample_noise(self, features):
        """Returns float32 multiplicative noise with the shape of features.

        Subclasses whose noise does not depend on the inputs implement this
        method; layers with input-dependent noise override `call` instead.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement `sample_noise`."
        )

    def call(self, inputs, training=None):
        features, _ = self._split_inputs(inputs)
        if not self.noise_active(training):
            return features
        return self.multiply(features, self.sample_noise(features))

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and isinstance(
            input_shape[0], (list, tuple)
        ):
            return tuple(input_shape[0])
        return tuple(input_shape)

    def compute_output_spec(self, inputs, training=None):
        features, _ = self._split_inputs(inputs)
        return keras.KerasTensor(features.shape, dtype=features.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stochastic_inference": self.stochastic_inference,
                "seed": self.seed,
            }
        )
        return config


def set_stochastic_inference(model, enabled):
    """Turns Monte-Carlo noise at inference on or off in every noise layer.

    Sets `stochastic_inference` on every `MultiplicativeNoise` layer inside
    `model` (recursively) and discards the model's compiled train, test and
    predict functions so that the next `fit`, `evaluate` or `predict` traces
    the new behaviour.

    Args:
        model: A Keras model or layer.
        enabled: Boolean.

    Returns:
        The number of noise layers changed.
    """
    count = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, MultiplicativeNoise):
            layer.stochastic_inference = bool(enabled)
            count += 1
    for attribute in ("train_function", "test_function", "predict_function"):
        if hasattr(model, attribute):
            setattr(model, attribute, None)
    return count
