"""Randomness and the train / inference rule shared by all noise layers.

* Noise is drawn when `training=True`, or always when the layer was built
  with `stochastic_inference=True` (Monte-Carlo prediction), and never inside
  `suppress_noise()` (used to re-estimate BatchNorm statistics with the noise
  off, the original implementation's "dry run").
* Random draws come from the layer's own `keras.random.SeedGenerator`, with
  the replica id folded into the seed so that under tf.distribute every
  replica draws different noise, while a fixed seed reproduces the same
  draws on one device.
* The seed generator's state is saved with the layer's weights (after
  them, as one more entry of `save_own_variables`), so a model or a run
  restored from `save_weights`, `model.save` or
  `keras.callbacks.BackupAndRestore` draws the noise the uninterrupted one
  would have drawn. Keras keeps that state in `layer.variables` but not in
  `layer.weights`, and its own saving leaves it out.
* Draws from a layer's `tfd` distributions (`NoiseLayer.draw`,
  `reparameterized_sample`) are the distribution's own `sample` for the same
  stateless seed, computed with the Philox generator named explicitly.
"""

import contextlib
import threading

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from infodropout_tf import _validation
from infodropout_tf.keras_utils import nested_layers

tfd = tfp.distributions

_SUPPRESSION = threading.local()

# Named explicitly: Philox is what the default "auto_select" runs without
# XLA (the same draws), but under `jit_compile=True` on a CPU "auto_select"
# lowers to a generator about 100 times slower (benchmarks/step_time.py).
RANDOM_ALGORITHM = "philox"


def reparameterized_sample(distribution, sample_shape, seed):
    """`distribution.sample(sample_shape, seed=seed)` drawn with Philox.

    For a `tfd.Normal` or a `tfd.LogNormal`, computes what TFP's `sample`
    computes, n * scale + loc (and its exp), from standard-normal draws n of
    `tf.random.stateless_normal` with `alg="philox"`. TFP calls the same op
    with the default `alg="auto_select"`, which is Philox without XLA, so
    the two agree bit for bit there; under `jit_compile=True` XLA lowers
    "auto_select" on a CPU to a generator about 100 times slower (and with
    other draws), which this function avoids.

    Args:
        distribution: A `tfd.Normal` or `tfd.LogNormal`.
        sample_shape: Tuple of ints, the leading axes of the sample.
        seed: An int32 tensor of shape (2,), a stateless seed.

    Returns:
        A tensor of shape `sample_shape + batch_shape`, reparameterised:
        differentiable in the distribution's loc and scale.
    """
    if isinstance(distribution, tfd.LogNormal):
        return tf.exp(reparameterized_sample(distribution.distribution, sample_shape, seed))
    if not isinstance(distribution, tfd.Normal):
        raise TypeError(
            "Expected a `tfd.Normal` or a `tfd.LogNormal`. "
            f"Received: {type(distribution).__name__}"
        )
    shape = tf.concat(
        [tf.constant(sample_shape, "int32"), distribution.batch_shape_tensor()], axis=0
    )
    noise = tf.random.stateless_normal(
        shape, seed=seed, dtype=distribution.dtype, alg=RANDOM_ALGORITHM
    )
    return noise * distribution.scale + distribution.loc


@contextlib.contextmanager
def suppress_noise():
    """Within this context no noise layer draws noise, even when training.

    The switch is read when a function is traced: call the model (or trace a
    new `tf.function`) inside the context.
    """
    previous = getattr(_SUPPRESSION, "active", False)
    _SUPPRESSION.active = True
    try:
        yield
    finally:
        _SUPPRESSION.active = previous


class NoiseLayer(keras.layers.Layer):
    """Base class of the package's stochastic layers.

    Args:
        stochastic_inference: Boolean. If True, noise is drawn also when
            `training=False`, for Monte-Carlo prediction. Saved with the
            layer's config. See also `set_stochastic_inference`.
        seed: Integer or None, optional seed of the layer's random draws
            (not a boolean).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(self, stochastic_inference=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stochastic_inference = bool(stochastic_inference)
        self.seed = _validation.seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    @staticmethod
    def _split_inputs(inputs):
        """Returns `(features, block_inputs)` of either call form, `layer(features)`
        or `layer([features, block_inputs])`; `block_inputs` may be None."""
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
        if getattr(_SUPPRESSION, "active", False):
            return False
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
            shape, seed=self._next_seed(), dtype="float32", alg=RANDOM_ALGORITHM
        )

    def draw(self, distribution, sample_shape=()):
        """A reparameterised sample of a `tfd.Normal` or `tfd.LogNormal`.

        `distribution.sample(sample_shape, seed=s)` with the next seed s of
        the layer's stream, drawn with Philox (`reparameterized_sample`).
        """
        return reparameterized_sample(distribution, sample_shape, self._next_seed())

    def uniform(self, shape):
        """float32 U[0, 1) draws of `shape` from the layer's seed stream."""
        return tf.random.stateless_uniform(
            shape, seed=self._next_seed(), dtype="float32", alg=RANDOM_ALGORITHM
        )

    def _saved_weights(self):
        return self._trainable_variables + self._non_trainable_variables

    def save_own_variables(self, store):
        """Saves the weights, then the seed generator's state as the last entry."""
        super().save_own_variables(store)
        store[str(len(self._saved_weights()))] = self.seed_generator.state

    def load_own_variables(self, store):
        """Loads what `save_own_variables` saved.

        A store without the seed generator's state (weights saved by
        another layer class, or by `keras.Layer`'s own saving) loads the
        weights and leaves the state as it is.
        """
        weights = self._saved_weights()
        if len(store.keys()) != len(weights) + 1:
            super().load_own_variables(store)
            return
        for index, variable in enumerate(weights):
            variable.assign(store[str(index)])
        self.seed_generator.state.assign(store[str(len(weights))])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stochastic_inference": self.stochastic_inference,
                "seed": self.seed,
            }
        )
        return config


@contextlib.contextmanager
def sampling_at_inference(model, enabled=True):
    """Within this context every noise layer of `model` samples at inference
    (with `enabled=False`: none does).

    Sets `stochastic_inference` on every `NoiseLayer` inside `model` and
    restores each layer's own setting on exit. Like `suppress_noise`, it acts
    on functions traced inside the context: enter it inside a traced
    function to fix that function's behaviour whenever it is traced.
    """
    layers = [
        layer
        for layer in nested_layers(model, include_self=True)
        if isinstance(layer, NoiseLayer)
    ]
    previous = [layer.stochastic_inference for layer in layers]
    try:
        for layer in layers:
            layer.stochastic_inference = bool(enabled)
        yield
    finally:
        for layer, flag in zip(layers, previous):
            layer.stochastic_inference = flag


def set_stochastic_inference(model, enabled):
    """Turns Monte-Carlo noise at inference on or off in every noise layer.

    Sets `stochastic_inference` on every `NoiseLayer` inside `model`
    (recursively) and discards the model's compiled train, test and predict
    functions so that the next `fit`, `evaluate` or `predict` traces the new
    behaviour.

    Args:
        model: A Keras model or layer.
        enabled: Boolean.

    Returns:
        The number of noise layers changed.
    """
    count = 0
    for layer in nested_layers(model, include_self=True):
        if isinstance(layer, NoiseLayer):
            layer.stochastic_inference = bool(enabled)
            count += 1
    for attribute in ("train_function", "test_function", "predict_function"):
        if hasattr(model, attribute):
            setattr(model, attribute, None)
    return count
