"""Evaluating classifiers with deterministic and noisy representations.

Achille & Soatto (TPAMI 2018, Fig. 4) test networks trained with noise in
two ways: with the noise off, the deterministic representation f(x), and
with the noise on, averaging the predicted class probabilities over S noisy
representations. The latter is also the multi-sample prediction of the Deep
Variational Information Bottleneck (Alemi et al. 2016) and Monte-Carlo
dropout.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.layers.noise_layer import sampling_at_inference


def _probability_function(model, num_samples):
    """A traced function averaging softmax(model(x)) over `num_samples`."""

    @tf.function
    def probabilities(x):
        def sample():
            return ops.softmax(ops.cast(model(x, training=False), "float32"))

        total = sample()
        # A graph loop, not an unrolled one: tracing stays cheap for large S.
        for _ in tf.range(num_samples - 1):
            total += sample()
        return total / num_samples

    return probabilities


def _check_num_samples(num_samples):
    _validation.positive_int("num_samples", num_samples)


def monte_carlo_probabilities(model, inputs, num_samples=10):
    """Class probabilities averaged over `num_samples` noisy passes.

    Args:
        model: A Keras model returning logits.
        inputs: A batch of inputs.
        num_samples: Integer S.

    Returns:
        float32 tensor (batch, classes).
    """
    _check_num_samples(num_samples)
    with sampling_at_inference(model):
        return _probability_function(model, num_samples)(inputs)


def evaluate_two_modes(model, dataset, num_samples=10):
    """Test error and cross-entropy with deterministic and noisy representations.

    Args:
        model: A Keras model returning logits.
        dataset: Iterable of `(x, y)` batches with integer labels.
        num_samples: Integer S, noisy passes averaged per example.

    Returns:
        Dict with `deterministic_error`, `noisy_error` (fractions of
        misclassified examples), `deterministic_cross_entropy` and
        `noisy_cross_entropy` (nats per example, of the averaged
        probabilities), and `num_examples`.
    """
    _check_num_samples(num_samples)
    deterministic = _probability_function(model, 1)
    # Traced lazily, and only ever called inside `sampling_at_inference`:
    # its traces sample, the deterministic function's do not.
    noisy = _probability_function(model, num_samples)

    totals = {"deterministic": [0, 0.0], "noisy": [0, 0.0]}
    num_examples = 0
    for x, y in dataset:
        labels = np.asarray(y).reshape(-1).astype("int64")
        rows = np.arange(labels.size)
        with sampling_at_inference(model):
            noisy_probabilities = noisy(x).numpy()
        for mode, probabilities in (
            ("deterministic", deterministic(x).numpy()),
            ("noisy", noisy_probabilities),
        ):
            totals[mode][0] += int(np.sum(np.argmax(probabilities, axis=1) != labels))
            totals[mode][1] += float(
                -np.sum(np.log(np.maximum(probabilities[rows, labels], 1e-12)))
            )
        num_examples += labels.size
    if num_examples == 0:
        raise ValueError("`dataset` yielded no examples to evaluate.")
    results = {"num_examples": num_examples}
    for mode, (errors, cross_entropy) in totals.items():
        results[f"{mode}_error"] = errors / num_examples
        results[f"{mode}_cross_entropy"] = cross_entropy / num_examples
    return results
