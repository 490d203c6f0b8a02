"""The interface shared by Information Dropout and its baselines.

Every multiplicative noise layer of the package computes z = f(x) * eps and
accepts two forms, so that a model can swap them by name
(`infodropout_tf.layers.get`):

* `layer(features)`: drop-in form, after any layer.
* `layer([features, block_inputs])`: block form, where the noise parameters
  may be computed from the input of the block that produced `features` (as in
  the paper's information-dropout block). Layers whose noise does not depend
  on the input ignore `block_inputs`.

The training / inference rule and the seeding are those of `NoiseLayer`.
Features must be floating point, in every mode: noise multiplied into
integers would be truncated away, so integer and boolean features raise a
`ValueError` (cast them to float first), as `keras.layers.Dropout` does.
"""

import keras
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.layers.noise_layer import NoiseLayer


class MultiplicativeNoise(NoiseLayer):
    """Base class of the multiplicative noise layers.

    Args: those of `NoiseLayer` (`stochastic_inference`, `seed`).

    Call arguments:
        inputs: A floating-point tensor of features, or a list
            `[features, block_inputs]`.
        training: Python boolean, whether the layer is called in training
            mode (noise on) or inference mode (noise off unless
            `stochastic_inference`).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def check_inputs(self, features, block_inputs):
        """Raises a `ValueError` for features that are not floating point.

        Checked in every mode, so that a model that runs at inference does
        not fail only once it is trained. Layers that read `block_inputs`
        check them too.
        """
        del block_inputs  # Ignored by the layers whose noise is input-free.
        _validation.floating_tensor(self, "features", features)

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
        features, block_inputs = self._split_inputs(inputs)
        self.check_inputs(features, block_inputs)
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
        features, block_inputs = self._split_inputs(inputs)
        self.check_inputs(features, block_inputs)
        return keras.KerasTensor(features.shape, dtype=features.dtype)
