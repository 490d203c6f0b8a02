"""Re-estimating BatchNorm statistics with the noise off (the "dry run").

Multiplicative noise with median 1 has mean exp(alpha^2 / 2) (log-normal)
or changes the variance of the activations (every kind), so BatchNorm moving
statistics gathered during noisy training do not match the noise-free
activations seen at inference. The original implementation therefore runs
the training set through the network in training mode with the noise off
before testing, letting BatchNorm's moving averages (decay 0.9 on CIFAR)
settle on noise-free statistics. These helpers do the same.
"""

import keras
import tensorflow as tf

from infodropout_tf.layers.noise_layer import suppress_noise


def _inputs_of(batch):
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def recalibrate_batch_norm(model, dataset, steps=None):
    """Updates every BatchNorm layer's moving statistics with noise off.

    Runs `model(x, training=True)` over `dataset` inside `suppress_noise()`,
    so BatchNorm layers normalise with batch statistics and update their
    moving averages with their own momentum, while no noise layer (input
    dropout included) draws noise. Weights other than the BatchNorm moving
    statistics are not changed.

    Args:
        model: A Keras model.
        dataset: Iterable of batches `x` or `(x, y, ...)`, such as the
            training `tf.data.Dataset`.
        steps: Integer or None, the number of batches to use (all by
            default).

    Returns:
        The number of batches used (0 if the model has no BatchNorm layer).
    """
    if steps is not None and not (isinstance(steps, int) and steps > 0):
        raise ValueError(
            "Invalid value received for argument `steps`. Expected a positive "
            f"integer or None. Received: steps={steps!r}"
        )
    has_batch_norm = any(
        isinstance(layer, keras.layers.BatchNormalization)
        for layer in model._flatten_layers(include_self=False)
    )
    if not has_batch_norm:
        return 0

    @tf.function
    def update_statistics(x):
        model(x, training=True)

    batches = 0
    with suppress_noise():
        for batch in dataset:
            if steps is not None and batches >= steps:
                break
            update_statistics(_inputs_of(batch))
            batches += 1
    return batches


class BatchNormRecalibration(keras.callbacks.Callback):
    """Recalibrates BatchNorm with the noise off before every evaluation.

    Runs `recalibrate_batch_norm` at `on_test_begin`, that is before the
    validation pass of every `fit` epoch and before `evaluate`.

    Args:
        dataset: Training batches to recalibrate on.
        steps: Integer or None, the number of batches used each time.
    """

    def __init__(self, dataset, steps=None):
        super().__init__()
        self.dataset = dataset
        self.steps = steps

    def on_test_begin(self, logs=None):
        recalibrate_batch_norm(self.model, self.dataset, self.steps)
