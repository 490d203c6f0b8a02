"""SavedModel export with deterministic, noisy and KL-map endpoints."""

import keras
import tensorflow as tf

from infodropout_tf import atomic_files
from infodropout_tf.keras_utils import network_of
from infodropout_tf.per_unit_kl import kl_map_functions
from infodropout_tf.layers import sampling_at_inference


def export(model, path):
    """Writes a SavedModel of `model` to `path` (replaced atomically).

    * `serve` (also the default signature): prediction with the noise off;
    * `serve_noisy`: prediction with every noise layer sampling;
    * `kl_maps` (classifiers with KL layers): a dict of each layer's
      per-unit KL map.
    """
    network = network_of(model)
    inputs = network.inputs if hasattr(network, "inputs") and network.inputs else None
    shape = inputs[0].shape if inputs else (None, *model.image_shape)
    signature = [tf.TensorSpec(shape, tf.float32, name="inputs")]
    archive = keras.export.ExportArchive()
    archive.track(model)

    # Endpoints are traced when the archive is written: each one fixes the
    # noise behaviour inside its own trace.
    def predict(x, sampling):
        with sampling_at_inference(model, enabled=sampling):
            return model(x, training=False)

    archive.add_endpoint("serve", lambda x: predict(x, False), signature)
    archive.add_endpoint("serve_noisy", lambda x: predict(x, True), signature)
    functions = kl_map_functions(model)
    if functions:
        for function in functions.values():
            archive.track(function.to_inputs)
        archive.add_endpoint(
            "kl_maps", lambda x: {name: f(x) for name, f in functions.items()}, signature)
    atomic_files.write_with(path, lambda temporary: archive.write_out(temporary, verbose=False))
