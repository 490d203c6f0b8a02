"""Test metrics of a trained model, and the `infodropout-evaluate` command."""

import os
import zipfile

import keras
import numpy as np

from infodropout_tf import atomic_files
from infodropout_tf import models
from infodropout_tf.callbacks import recalibrate_batch_norm
from infodropout_tf.evaluation import evaluate_two_modes
from infodropout_tf.keras_utils import network_of
from infodropout_tf.training import config_schema
from infodropout_tf.training.backup import check_keras_file
from infodropout_tf.training.backup import first_line
from infodropout_tf.training.experiment import check_nuisance_probe
from infodropout_tf.training.experiment import load_split
from infodropout_tf.training.experiment import recalibration_batches
from infodropout_tf.training.workdir import Workdir
from infodropout_tf.training.workdir import WorkdirError

# Fields that only say how to evaluate: the evaluation command may change
# them; every other field must match the trained run's config.
EVALUATION_FIELDS = ("num_epochs", "dataset.data_dir", "tpu", "strategy", "jit_compile",
                     "batch_size", "eval_steps", "eval_num_samples",
                     "recalibrate_batch_norm_steps", "iwae_samples", "iwae_examples",
                     "nuisance.enabled", "nuisance.epochs", "nuisance.representation_layer",
                     "nuisance.probe")


def test_metrics(config, model, train, test):
    """Deterministic and noisy test errors (VAE: loss terms and the IWAE bound).

    Classifiers' BatchNorm statistics are first recalibrated with the noise
    off on training batches (the original's "dry run"). With
    `nuisance.enabled`, `nuisance_error` is the test error of a classifier
    of the nuisance trained on the frozen representation
    (`nuisance_error`; Occluded CIFAR / MNIST, paper Fig. 4).
    """
    steps = config.eval_steps if config.eval_steps > 0 else None
    if isinstance(model, models.VAE):
        metrics = model.evaluate(test, steps=steps, verbose=0, return_dict=True)
        metrics["iwae_log_likelihood"] = vae_log_likelihood(config, model)
        return {k: float(v) for k, v in metrics.items()}
    if config.recalibrate_batch_norm_steps > 0:
        # Under multi_worker every worker runs this, and the statistics are
        # pooled over the workers (`recalibrate_batch_norm`).
        recalibrate_batch_norm(model, train, steps=config.recalibrate_batch_norm_steps)
    evaluation_data = test.take(steps) if steps else test
    metrics = evaluate_two_modes(model, evaluation_data, num_samples=config.eval_num_samples)
    if config.nuisance.enabled:
        metrics["nuisance_error"] = nuisance_error(config, model)
        metrics["nuisance_probe"] = config.nuisance.probe
    return metrics


def vae_log_likelihood(config, model):
    """Mean importance-weighted bound on log p(x) over test examples (nats)."""
    test = load_split(config, f"{config.dataset.test_split}[:{config.iwae_examples}]", 100, False)
    values = [model.importance_weighted_log_likelihood(x, config.iwae_samples).numpy()
              for x, _ in test]
    return float(np.concatenate(values).mean())


def load_model(path):
    """`keras.models.load_model` with one clear error for an unreadable file.

    Raises:
        WorkdirError: naming `path` and why it cannot be read: damaged, or
            a config Keras cannot rebuild (a class it does not know).
    """
    try:
        check_keras_file(path)
        return keras.models.load_model(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise WorkdirError(f"cannot read the model {path}: {_reason(error)}. Rerun training to "
                           "rewrite it, or point at an intact file.") from error


def _reason(error):
    """Why Keras could not load a model, in one sentence.

    A config Keras cannot rebuild (a class it does not know) is a
    TypeError about the whole model, several lines long, raised while
    handling the one that names the class: that one's first sentence.
    """
    if not isinstance(error, TypeError):
        return first_line(error)
    while isinstance(error.__context__, TypeError):
        error = error.__context__
    return first_line(error).split(". ")[0]


def latest_model_path(workdir):
    """`model.keras`, else the newest `checkpoints/epoch_NNNN.keras`."""
    final = workdir.join("model.keras")
    if os.path.exists(final):
        return final
    checkpoints = workdir.epoch_checkpoints()
    if not checkpoints:
        raise WorkdirError(f"workdir {workdir.path} holds no model.keras nor "
                           "checkpoints/epoch_*.keras; train first.")
    return checkpoints[max(checkpoints)]


def evaluate(config, workdir):
    """Loads the latest model of `workdir`, recalibrates BatchNorm and tests it.

    Reports `test_metrics`: the test error with deterministic and noisy
    representations (VAE: negative ELBO and importance-weighted bound) and,
    with `nuisance.enabled`, the nuisance classifier's error. Results go to
    `workdir/evaluation.json`.

    Raises:
        WorkdirError: the workdir was trained with another config (fields
            other than `EVALUATION_FIELDS` differ) or holds no readable model.
        ConfigError: a bad config, or a nuisance probe the model cannot
            feed (`nuisance.representation_layer` missing, or a
            convolutional probe on a flat layer).
    """
    config_schema.validate(config)
    workdir = Workdir(workdir)
    workdir.check_same_experiment(config, ignore=EVALUATION_FIELDS)
    path = latest_model_path(workdir)
    model = load_model(path)
    if config.nuisance.enabled and not isinstance(model, models.VAE):
        # Fails now, not after the main metrics.
        check_nuisance_probe(config.nuisance, network_of(model))
    train = recalibration_batches(config)
    test = load_split(config, config.dataset.test_split, config.batch_size, False)
    results = {"model": path, **test_metrics(config, model, train, test)}
    atomic_files.write_json(workdir.join("evaluation.json"), results)
    return results


def nuisance_error(config, model):
    """Test error of a classifier of the nuisance on the frozen representation.

    The representation is the output of `nuisance.representation_layer`,
    frozen (BatchNorm in inference mode) but noisy while the classifier
    trains, as the paper measures what the noisy representation still
    carries about the nuisance; the test error is with the noise off, like
    the main `deterministic_error`. The classifier (`nuisance.probe`) is a
    small MLP (256 ReLU units) on the flattened representation, which can
    read a nuisance from where it sits, not only from channel averages; or,
    for a spatial map, two 3x3 convolutions of 64 channels and a global max
    before it, which find a digit wherever it sits (an MLP on the raw
    Occluded MNIST frames barely tells the occluder apart).

    Raises:
        ConfigError: a convolutional probe on a representation that is not
            a (height, width, channels) map.
    """
    network = network_of(model)
    check_nuisance_probe(config.nuisance, network)
    representation = keras.Model(network.inputs,
                                 network.get_layer(config.nuisance.representation_layer).output)
    representation.trainable = False
    features = representation.output
    if config.nuisance.probe == "conv":
        for _ in range(2):
            features = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(features)
        features = keras.layers.GlobalMaxPooling2D()(features)
    hidden = keras.layers.Dense(256, activation="relu")(keras.layers.Flatten()(features))
    classifier = keras.Model(representation.inputs, keras.layers.Dense(10)(hidden))
    classifier.compile(keras.optimizers.Adam(1e-3),
                       keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics=["accuracy"])
    steps = config.steps_per_epoch if config.steps_per_epoch > 0 else None
    nuisance_train = load_split(config, config.dataset.train_split, config.batch_size, True,
                                label_key="nuisance_label")
    classifier.fit(nuisance_train, epochs=config.nuisance.epochs, steps_per_epoch=steps, verbose=0)
    nuisance_test = load_split(config, config.dataset.test_split, config.batch_size, False,
                               label_key="nuisance_label")
    eval_steps = config.eval_steps if config.eval_steps > 0 else None
    accuracy = classifier.evaluate(nuisance_test, steps=eval_steps, verbose=0, return_dict=True)
    return 1.0 - float(accuracy["accuracy"])
