"""SavedModel export with deterministic, noisy and KL-map endpoints."""

import os

import keras
import tensorflow as tf

from infodropout_tf import atomic_files
from infodropout_tf import keras_utils
from infodropout_tf.layers import kl_layers
from infodropout_tf.layers import sampling_at_inference
from infodropout_tf.per_unit_kl import kl_map_functions


def _check_path(path):
    """Refuses a destination whose replacement would destroy something else.

    The export replaces `path` as a whole (`atomic_files`): an existing
    file, or a folder other than a SavedModel, would be deleted with it.
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ValueError(f"`path` must be a folder name for the SavedModel; received {path!r}.")
    path = os.fspath(path)
    if os.path.isfile(path):
        raise ValueError(f"Cannot export to {path}: it is a file; pass a new folder name.")
    if (os.path.isdir(path) and os.listdir(path)
            and not os.path.exists(os.path.join(path, "saved_model.pb"))):
        raise ValueError(f"Cannot export to {path}: it is a folder that does not hold a "
                         "SavedModel, and exporting would replace it; pass a new folder name.")
    return path


def export(model, path):
    """Writes a SavedModel of `model` to `path`, for TensorFlow Serving or
    `tf.saved_model.load` without this package.

    Endpoints, each taking a float32 batch of the model's inputs and
    answering in float32 whatever the model's dtype policy:

    * `serve` (also the default signature): the prediction with every noise
      layer off, `model(x, training=False)` (even for layers made to sample
      at inference);
    * `serve_noisy`: the prediction with every noise layer sampling
      (Monte-Carlo dropout at inference), a new draw at every call;
    * `kl_maps`, for a functional or Sequential model (or a `Classifier`
      around one) with KL layers: a dict {layer name: per-unit KL map},
      `infodropout_tf.kl_maps` as a graph. A subclassed model, such as the
      VAE, has no graph to reach a layer's inputs and gets no `kl_maps`.

    `path` is replaced as a whole, atomically: a reader sees the previous
    SavedModel or the new one, never half of one.

    Example:

    ```python
    infodropout_tf.export(model, "/tmp/exported")
    loaded = tf.saved_model.load("/tmp/exported")
    logits = loaded.serve(images)
    maps = loaded.kl_maps(images)  # {"dropout1": (batch, ...), ...}
    ```

    Args:
        model: A built Keras model with one input: functional, Sequential,
            a `Classifier` around one, or a subclassed model called once.
        path: Folder to write; a new name, or an earlier SavedModel.

    Raises:
        ValueError: `model` is not a Keras model, was never built or
            called, or takes several inputs; `path` is a file or a folder
            that holds something other than a SavedModel.
        atomic_files.OutputWriteError: the SavedModel could not be written
            (no space, no permission); `path` is left as it was.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"export needs a keras.Model; received a {type(model).__name__}.")
    path = _check_path(path)
    signature = [tf.TensorSpec(keras_utils.single_input_shape(model), tf.float32,
                               name="inputs")]
    archive = keras.export.ExportArchive()
    archive.track(model)

    # Endpoints are traced when the archive is written: each one fixes the
    # noise behaviour inside its own trace.
    def predict(x, sampling):
        with sampling_at_inference(model, enabled=sampling):
            # Under a mixed dtype policy the network computes in float16 or
            # bfloat16; the endpoints answer in float32, as the loss reads it.
            return tf.cast(model(x, training=False), tf.float32)

    archive.add_endpoint("serve", lambda x: predict(x, False), signature)
    archive.add_endpoint("serve_noisy", lambda x: predict(x, True), signature)
    if keras_utils.has_layer_graph(model) and kl_layers(keras_utils.network_of(model)):
        functions = kl_map_functions(model)
        for function in functions.values():
            archive.track(function.to_inputs)
        archive.add_endpoint(
            "kl_maps", lambda x: {name: f(x) for name, f in functions.items()}, signature)
    atomic_files.write_with(path, lambda temporary: archive.write_out(temporary, verbose=False))
