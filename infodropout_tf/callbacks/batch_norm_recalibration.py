"""Re-estimating BatchNorm statistics with the noise off (the "dry run"),
as a function (`recalibrate_batch_norm`) and as a callback that does it
before every evaluation (`BatchNormRecalibration`).

Multiplicative noise with median 1 has mean exp(alpha^2 / 2) (log-normal)
and changes the variance of the activations (every kind), so BatchNorm
moving statistics gathered during noisy training do not match the
noise-free activations seen at inference. The original implementation
therefore runs the training set through the network in training mode with
the noise off before testing, letting BatchNorm's moving averages settle on
noise-free statistics.

These helpers do the same with one change: instead of an exponential moving
average, whose result depends on the momentum and on how many batches are
run (with the 0.999 decay of the Cluttered MNIST network a full pass would
keep two thirds of the noisy statistics), every BatchNorm layer gets the
exact mean and variance of its inputs over all the recalibration examples
("precise BatchNorm", Wu & Johnson, "Rethinking 'Batch' in BatchNorm",
2021). Upstream BatchNorm layers normalise with batch statistics, as in
training.

Under a multi-worker strategy every worker runs its own batches and the
sums behind the statistics are added up across the workers before they are
set, so that all workers end with the same statistics, those of all the
examples any of them saw.
"""

import keras
import numpy as np
import tensorflow as tf

from infodropout_tf import _validation
from infodropout_tf.keras_utils import inputs_of
from infodropout_tf.keras_utils import nested_layers
from infodropout_tf.layers.noise_layer import suppress_noise


def recalibrate_batch_norm(model, dataset, steps=None):
    """Sets BatchNorm moving statistics to noise-free dataset statistics.

    Runs `model(x, training=True)` over `dataset` inside `suppress_noise()`
    (no noise layer draws noise, input dropout included), and sets every
    trainable BatchNorm layer's moving mean and variance to the mean and
    variance of its inputs over all examples seen. No other weight changes.

    For a model built under a strategy with several replicas
    (`model.distribute_strategy`), every worker must call this at the same
    point: the sums of each worker are reduced across all workers, so every
    worker sets the statistics of the examples seen by all of them.

    Args:
        model: A Keras model.
        dataset: Iterable of batches `x` or `(x, y, ...)`, such as the
            training `tf.data.Dataset`.
        steps: Integer or None, the number of batches to use (all by
            default).

    Returns:
        The number of examples used, by all workers together (0 if the
        model has no trainable BatchNorm layer).

    Raises:
        ValueError: `dataset` (of every worker) yielded no batch.
    """
    _validation.positive_int("steps", steps, allow_none=True)
    batch_norms = [
        layer
        for layer in nested_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]
    if not batch_norms:
        return 0

    @tf.function
    def batch_statistics(x):
        # With momentum 0 a training-mode call leaves each layer's batch
        # mean and variance in its moving statistics.
        model(x, training=True)
        return [(bn.moving_mean.value, bn.moving_variance.value) for bn in batch_norms]

    saved_momenta = [bn.momentum for bn in batch_norms]
    # Per layer, the float64 sums of n * mean and n * (var + mean^2).
    sums = [[np.zeros(bn.moving_mean.shape), np.zeros(bn.moving_mean.shape)]
            for bn in batch_norms]
    examples = 0
    try:
        for bn in batch_norms:
            bn.momentum = 0.0
        with suppress_noise():
            for index, batch in enumerate(dataset):
                if steps is not None and index >= steps:
                    break
                x = inputs_of(batch)
                size = int(tf.shape(tf.nest.flatten(x)[0])[0])
                for total, (mean, variance) in zip(sums, batch_statistics(x)):
                    mean = np.asarray(mean, "float64")
                    variance = np.asarray(variance, "float64")
                    total[0] = total[0] + size * mean
                    total[1] = total[1] + size * (variance + np.square(mean))
                examples += size
    finally:
        for bn, momentum in zip(batch_norms, saved_momenta):
            bn.momentum = momentum
    strategy = model.distribute_strategy
    if strategy.num_replicas_in_sync > 1:
        # Before any error: a worker that raised here would leave the
        # others waiting in the reduction.
        examples, sums = _sum_over_workers(strategy, examples, sums)
    if examples == 0:
        raise ValueError("`dataset` yielded no batches to recalibrate on.")
    for bn, (mean_sum, square_sum) in zip(batch_norms, sums):
        mean = mean_sum / examples
        bn.moving_mean.assign(mean)
        bn.moving_variance.assign(np.maximum(square_sum / examples - np.square(mean), 0.0))
    return examples


def _sum_over_workers(strategy, examples, sums):
    """`examples` and `sums` added up over the workers of `strategy`.

    Each replica holds its worker's values and the mean over all replicas
    is reduced (float64); every worker of a (multi-worker) mirrored
    strategy runs the same number of replicas, so that mean times the
    number of workers is the sum over workers. A single worker gets its
    own values back.
    """
    flat = np.concatenate([[float(examples)]] + [np.ravel(part) for pair in sums for part in pair])
    replicated = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(flat, tf.float64))
    mean = strategy.reduce(tf.distribute.ReduceOp.MEAN, replicated, axis=None)
    workers = strategy.num_replicas_in_sync // len(strategy.extended.worker_devices)
    total = np.asarray(mean) * workers
    pooled, offset = [], 1
    for pair in sums:
        pooled.append([])
        for part in pair:
            pooled[-1].append(total[offset:offset + part.size].reshape(part.shape))
            offset += part.size
    return int(round(total[0])), pooled


class BatchNormRecalibration(keras.callbacks.Callback):
    """Recalibrates BatchNorm with the noise off before every evaluation.

    Runs `recalibrate_batch_norm` at `on_test_begin`, that is before the
    validation pass of every `fit` epoch and before `evaluate`, as the
    original Information Dropout code (Achille & Soatto, TPAMI 2018) runs
    its dry run before testing.

    Args:
        dataset: Training batches to recalibrate on (the same ones each
            time give statistics that do not depend on the epoch).
        steps: Integer or None, the number of batches used each time.

    Example:

    ```python
    model.fit(train, validation_data=test, epochs=5,
              callbacks=[BatchNormRecalibration(train.take(50))])
    ```
    """

    def __init__(self, dataset, steps=None):
        super().__init__()
        self.dataset = dataset
        self.steps = steps

    def on_test_begin(self, logs=None):
        recalibrate_batch_norm(self.model, self.dataset, self.steps)
