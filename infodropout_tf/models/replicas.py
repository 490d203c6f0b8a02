"""Loss scaling for tf.distribute in custom `compute_loss` methods."""

import tensorflow as tf


def scale_for_replicas(loss):
    """Returns loss / number of replicas in sync.

    Keras's TensorFlow trainer sums the gradients of all replicas and
    expects `compute_loss` to return each replica's loss divided by the
    number of replicas (its `Loss` objects and `add_loss` terms are scaled
    that way); the `loss` metric multiplies it back. A `compute_loss` that
    assembles its loss from unscaled parts must scale the total itself.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return loss
    return loss * (1.0 / replicas)
