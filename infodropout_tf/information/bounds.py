"""Bounds on I(X; Z) and I(Z; Y) computed from a trained network.

* I(X; Z) <= E_x KL(p(z|x) || q(z)) for any q (the variational bound behind
  the information-bottleneck loss, Achille & Soatto, TPAMI 2018, Eq. 3):
  for an `InformationDropout` layer this is the mean over the data of its KL
  map summed over units. With the log-normal prior (softplus) it is a bound
  in nats. With the improper log-uniform prior (ReLU) the KL is only defined
  up to the prior's constant (the layer fixes it so that the KL is 0 at the
  largest alpha): the value is reported, flagged as relative, and only its
  changes (across epochs, layers, beta) are meaningful.
* I(Z; Y) >= H(Y) - E[-log q(y|z)] for any decoder q: the network above Z
  is one, so H(Y) minus its cross-entropy with Z sampled (noise on) bounds
  the information a noisy representation keeps about the label.
* Kirsch, Lyle & Gal ("Unpacking Information Bottlenecks") compare two
  cross-entropies over S noise samples: the decoder cross-entropy
  E_s[-log q(y|z_s)] and the prediction cross-entropy -log E_s[q(y|z_s)]
  (never larger, by Jensen).
"""

import numpy as np
import tensorflow as tf

from infodropout_tf import _validation
from infodropout_tf.keras_utils import inputs_of
from infodropout_tf.keras_utils import network_of
from infodropout_tf.per_unit_kl import kl_map_functions
from infodropout_tf.layers import InformationDropout
from infodropout_tf.layers.noise_layer import sampling_at_inference
from infodropout_tf.priors import LogUniformPrior


def _concatenate_examples(arrays):
    """Per-batch arrays joined into one; a dataset without examples has no
    mean to report, so it is an error rather than a NaN."""
    if not arrays or sum(len(a) for a in arrays) == 0:
        raise _validation.error("dataset", "at least one example", "an empty dataset")
    return np.concatenate(arrays)


def information_dropout_kl(model, layer_name, dataset):
    """Per-example KL(p(z|x) || q(z)) of an `InformationDropout` layer, summed
    over units: a float64 array with one entry per example of `dataset`."""
    network = network_of(model)
    layer = network.get_layer(layer_name)
    if not isinstance(layer, InformationDropout):
        raise ValueError(
            f"Layer {layer_name!r} is a {type(layer).__name__}, not an InformationDropout layer."
        )
    kl_map = kl_map_functions(network, [layer_name])[layer_name]

    @tf.function
    def kl_of(x):
        kl = kl_map(x)
        return tf.reduce_sum(tf.reshape(kl, [tf.shape(kl)[0], -1]), axis=1)

    kl = _concatenate_examples([kl_of(inputs_of(batch)).numpy() for batch in dataset])
    return kl.astype(np.float64)


def information_dropout_bound(model, layer_name, dataset):
    """The closed-form bound I(X; Z) <= E_x KL of an `InformationDropout` layer.

    Returns:
        Dict with `mutual_information_bound` (nats) and
        `relative_to_prior_constant`: True for the log-uniform prior, whose
        value is defined only up to a constant.
    """
    layer = network_of(model).get_layer(layer_name)
    kl = information_dropout_kl(model, layer_name, dataset)
    return {
        "mutual_information_bound": float(kl.mean()),
        "relative_to_prior_constant": isinstance(layer.prior, LogUniformPrior),
    }


def label_entropy(labels, num_classes=None):
    """H(Y) of the empirical label marginal, in nats.

    Args:
        labels: Non-empty array of finite labels (any shape, flattened).
        num_classes: Integer > 0 or None. Classes that never occur add
            nothing to the entropy, so it does not change the value.
    """
    labels = _validation.finite_array("labels", labels).reshape(-1)
    _validation.positive_int("num_classes", num_classes, allow_none=True)
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def monte_carlo_cross_entropies(model, dataset, num_samples=10):
    """Decoder and prediction cross-entropies over `num_samples` noise draws.

    Every noise layer samples (as with `stochastic_inference`) while this
    runs; the switches are restored afterwards.

    Args:
        model: A classifier returning logits.
        dataset: `(x, y)` batches with at least one example.
        num_samples: Integer > 0, noise draws per example.

    Returns:
        Dict with `decoder_cross_entropy` E_s[-log q(y|z_s)],
        `prediction_cross_entropy` -log E_s[q(y|z_s)] (nats per example) and
        `labels`, the concatenated labels.
    """
    num_samples = _validation.positive_int("num_samples", num_samples)

    @tf.function
    def cross_entropies(x, y):
        y = tf.cast(tf.reshape(y, [-1]), tf.int32)
        decoder = tf.zeros(tf.shape(y), tf.float32)
        log_probabilities = []
        for _ in range(num_samples):
            log_p = tf.nn.log_softmax(tf.cast(model(x, training=False), tf.float32))
            picked = tf.gather(log_p, y, axis=1, batch_dims=1)
            decoder += -picked
            log_probabilities.append(picked)
        prediction = -(tf.reduce_logsumexp(tf.stack(log_probabilities), axis=0)
                       - tf.math.log(float(num_samples)))
        return decoder / num_samples, prediction

    decoder, prediction, labels = [], [], []
    with sampling_at_inference(model):
        for x, y in dataset:
            d, p = cross_entropies(x, y)
            decoder.append(d.numpy())
            prediction.append(p.numpy())
            labels.append(np.asarray(y).reshape(-1))
    return {
        "decoder_cross_entropy": float(_concatenate_examples(decoder).mean()),
        "prediction_cross_entropy": float(_concatenate_examples(prediction).mean()),
        "labels": np.concatenate(labels),
    }


def label_information_bound(model, dataset, num_samples=10):
    """I(Z; Y) >= H(Y) - decoder cross-entropy, with noise on (nats)."""
    results = monte_carlo_cross_entropies(model, dataset, num_samples)
    return label_entropy(results["labels"]) - results["decoder_cross_entropy"]
