"""The information-bottleneck objective for classifiers."""

import types

import keras
from keras import ops

from infodropout_tf import _validation
from infodropout_tf import surrogates
from infodropout_tf.keras_utils import nested_layers
from infodropout_tf.keras_utils import scale_for_replicas
from infodropout_tf.layers.kl_penalty import KLPenalty
from infodropout_tf.layers.kl_penalty import batch_mean


@keras.saving.register_keras_serializable(package="infodropout_tf")
class Classifier(keras.Model):
    """Trains a logits network on the paper's objective, with its parts shown.

    The loss is the original implementation's (Achille & Soatto, TPAMI 2018,
    Eq. 3 plus weight decay):

        loss = mean cross-entropy
               + sum over noise layers of beta * mean KL / N   (their add_loss)
               + weight_decay * sum over trainable variables of ||v||^2 / 2

    where the weight decay covers every trainable variable, as the original's
    `tf.nn.l2_loss` over `tf.trainable_variables()` does (alpha branches,
    BatchNorm offsets and the log-normal prior's parameters included; the
    prior's variables are mu and the unconstrained u of
    sigma = softplus(u) + 1e-3, where the original decays sigma itself).
    Besides `loss`, `fit` and `evaluate` report `cross_entropy`,
    `weight_decay`, `error` (the misclassified fraction) and, for every
    layer that adds a KL penalty, `kl_<layer name>` in nats per example.

    With a `surrogate` other than `"none"` the loss also holds the
    surrogate information-bottleneck penalty of Kirsch, Lyle & Gal
    ("Unpacking Information Bottlenecks"; with zero-entropy noise after Z,
    `layers.ZeroEntropyNoise`):

        + surrogate_weight * surrogate(Z)   (`infodropout_tf.surrogates`)

    on the batch's output Z of the layer `surrogate_layer` (noise-free
    activations before the noise layer), reported as the metric
    `surrogate` (unweighted, as `cross_entropy` is). Z is the very tensor
    the logits of the same forward pass were computed from: `call` runs
    a functional model with both outputs, so no second pass is needed.
    The log-variance surrogates are batch statistics: under tf.distribute
    each replica computes them on its share of the global batch, as
    unsynchronised batch normalisation does.

    Compile it without a loss: `model.compile(optimizer)`. On an empty
    batch (or sample weights that sum to 0) the cross-entropy, the KL
    terms and the surrogate are exactly 0, so the loss is the weight decay
    alone.

    Args:
        network: A Keras model mapping inputs to logits (batch, classes);
            a functional one when `surrogate` is not `"none"`.
        weight_decay: Finite float >= 0.
        surrogate: One of `infodropout_tf.surrogates.SURROGATES`:
            `"none"`, `"squared_norm"`, `"log_variance"` or
            `"conditional_log_variance"` (which uses the labels).
        surrogate_weight: Finite float >= 0, the surrogate's gamma.
        surrogate_layer: Name of the network's layer whose output is Z;
            required unless `surrogate` is `"none"`.
        **kwargs: Base model keyword arguments, such as `name`.

    Raises:
        ValueError: for a bad argument, or a `surrogate_layer` the network
            does not hold (the message lists its layers).
    """

    def __init__(self, network, weight_decay=0.0, surrogate="none", surrogate_weight=0.0,
                 surrogate_layer=None, **kwargs):
        super().__init__(**kwargs)
        self.weight_decay = _validation.non_negative_float("weight_decay", weight_decay)
        self.surrogate = _validation.one_of("surrogate", surrogate, surrogates.SURROGATES)
        self.surrogate_weight = _validation.non_negative_float(
            "surrogate_weight", surrogate_weight)
        self.surrogate_layer = surrogate_layer
        self.network = network
        if self.surrogate != "none":
            self._with_representation = self._joint_model(network, surrogate_layer)
            self.surrogate_tracker = keras.metrics.Mean(name="surrogate")
            # The last forward pass's (logits, Z), in a plain object that
            # Keras does not track: `compute_loss` reads Z from it.
            self._forward = types.SimpleNamespace(logits=None, representation=None)
        self.kl_layers = [
            layer
            for layer in nested_layers(network)
            if isinstance(layer, KLPenalty)
        ]
        self.cross_entropy_tracker = keras.metrics.Mean(name="cross_entropy")
        self.weight_decay_tracker = keras.metrics.Mean(name="weight_decay")
        self.error_tracker = keras.metrics.Mean(name="error")
        self.kl_trackers = [
            keras.metrics.Mean(name=f"kl_{layer.name}") for layer in self.kl_layers
        ]

    @staticmethod
    def _joint_model(network, layer_name):
        """The network with a second output: the output of `layer_name`."""
        names = [layer.name for layer in getattr(network, "layers", [])]
        if not getattr(network, "inputs", None) or layer_name not in names:
            raise _validation.error(
                "surrogate_layer", f"the name of a layer of the functional network, one of "
                f"{names}", f"surrogate_layer={layer_name!r}")
        inputs = network.inputs[0] if len(network.inputs) == 1 else network.inputs
        return keras.Model(inputs, [network.outputs[0], network.get_layer(layer_name).output])

    def call(self, inputs, training=None):
        if self.surrogate == "none":
            return self.network(inputs, training=training)
        logits, representation = self._with_representation(inputs, training=training)
        self._forward.logits, self._forward.representation = logits, representation
        return logits

    def surrogate_representation(self, x, y_pred, training=False):
        """Z of the forward pass that gave `y_pred`, or of a new pass on `x`.

        `fit`, `evaluate` and the trainer's loop call the model and then
        `compute_loss` on its very output, whose Z `call` kept. Any other
        `y_pred` (e.g. a symbolic one) gets Z from a new pass on `x`, which
        matches when no noise layer comes before Z.
        """
        if self._forward.logits is not None and self._forward.logits is y_pred:
            return self._forward.representation
        return self._with_representation(x, training=training)[1]

    def l2_penalty(self):
        """sum over trainable variables of ||v||^2 / 2 (`tf.nn.l2_loss`)."""
        return 0.5 * sum(
            ops.sum(ops.square(ops.cast(v, "float32")))
            for v in self.trainable_weights
        )

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        logits = ops.cast(y_pred, "float32")
        per_example = keras.losses.sparse_categorical_crossentropy(
            y, logits, from_logits=True
        )
        if sample_weight is None:
            cross_entropy = batch_mean(per_example)
        else:
            weights = ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
            # 0, not NaN, when no example carries weight (see `batch_mean`).
            cross_entropy = ops.divide_no_nan(
                ops.sum(per_example * weights), ops.sum(weights)
            )
        penalties = sum(self.losses) if self.losses else 0.0
        weight_decay = self.weight_decay * self.l2_penalty()
        loss = cross_entropy + penalties + weight_decay
        if self.surrogate != "none":
            value = surrogates.penalty(
                self.surrogate, self.surrogate_representation(x, y_pred, training), labels=y,
                num_classes=logits.shape[-1], sample_weight=sample_weight)
            # Drop the references: the tensors belong to this trace.
            self._forward.logits = self._forward.representation = None
            self.surrogate_tracker.update_state(value)
            loss = loss + self.surrogate_weight * value

        self.cross_entropy_tracker.update_state(cross_entropy)
        self.weight_decay_tracker.update_state(weight_decay)
        labels = ops.cast(ops.reshape(y, (-1,)), "int32")
        predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
        self.error_tracker.update_state(ops.cast(predicted != labels, "float32"))
        for layer, tracker in zip(self.kl_layers, self.kl_trackers):
            tracker.update_state(layer.kl_per_example)
        return scale_for_replicas(loss)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "network": keras.saving.serialize_keras_object(self.network),
                "weight_decay": self.weight_decay,
                "surrogate": self.surrogate,
                "surrogate_weight": self.surrogate_weight,
                "surrogate_layer": self.surrogate_layer,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)
