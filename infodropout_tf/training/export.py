"""SavedModel export with deterministic, noisy and KL-map endpoints."""

import keras
import tensorflow as tf

from infodropout_tf import atomic_files
from infodropout_tf.information.bounds import layer_inputs_model
from infodropout_tf.information.bounds import network_of
from infodropout_tf.layers import KLPenalty
from infodropout_tf.layers import sampling_at_inference


def export_model(model, path):
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
    kl_layers = [layer for layer in model._flatten_layers() if isinstance(layer, KLPenalty)]
    if inputs and kl_layers:
        to_inputs = {layer.name: layer_inputs_model(network, layer.name) for layer in kl_layers}
        for submodel in to_inputs.values():
            archive.track(submodel)

        def kl_maps(x):
            return {layer.name: layer(to_inputs[layer.name](x, training=False),
                                      return_kl_map=True)[1] for layer in kl_layers}

        archive.add_endpoint("kl_maps", kl_maps, signature)
    atomic_files.write_with(path, lambda temporary: archive.write_out(temporary, verbose=False))
