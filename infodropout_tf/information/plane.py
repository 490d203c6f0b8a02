"""Information planes: one point (I(X; Z), I(Z; Y)) per layer, and its rows.

Which estimator each layer gets, the estimate of one point of the plane
(`estimate_information_plane`), and the rows file that holds a run's
points (`information_plane.json`, with `information_plane.csv` beside it:
`write_rows`, `read_rows`). The plot is `plane_plot.py`; the Keras callback
that records a plane over training is `callbacks.InformationPlane`.

Each layer's I(X; Z) comes from the estimator chosen for it by name
(`estimators={"dropout": "mine"}`), by default from its type:

* `"closed_form_kl"` (default for `InformationDropout`, and only for it): the
  closed-form bound E_x KL (`bounds.py`; relative to the prior's constant
  for the log-uniform prior, flagged in the rows);
* `"gaussian_mixture"` (default for `GaussianDropout` and
  `ZeroEntropyNoise`, and only for them): the Gaussian-mixture estimate of
  Adilova, Geiger & Fischer (`gaussian_dropout.py`) on the noise-free
  representation, with the multiplicative noise of Gaussian dropout or the
  additive N(0, 1/(2 pi e)) of zero-entropy noise (Kirsch, Lyle & Gal),
  where I(X; Z') = H(Z'). For a zero-entropy layer the row also holds
  `residual_information`, their I(X; Z'|Y) = H(Z'|Y): the same estimate
  within each class, averaged with the classes' frequencies (each class's
  estimate is at most log of its number of examples);
* `"binning"` (default for any other layer): the binning estimate of the
  layer's noise-free output;
* `"mine"` (any layer): the MINE lower bound (`mine.py`) between the
  network's inputs X and the layer's output Z as training computes it,
  every noise layer of the package up to it drawing its noise (one draw per
  example, from streams fixed by `seed`). For a deterministic layer (a
  `Dense`, or binary dropout, which keeps units exactly) I(X; Z) of
  continuous inputs is infinite; MINE then reports a finite lower bound
  limited by its statistics network, its training steps and the number of
  examples, so its changes, not its level, are what it measures.
  `mine_lower_bound` trains its statistics network on a random part of
  the examples and evaluates the bound on the rest, held out
  (`validation_fraction`, default 0.2, left at its default here), so that
  an overfitted network cannot report more than the truth beyond the
  held-out part's sampling error. It costs `mine_steps` Adam steps of a
  small network on (X, Z) pairs per layer, split and estimate, the most
  expensive choice.

The binning estimate is also recorded for every layer, for comparison
plots. I(Z; Y) is bounded below by H(Y) minus the network's cross-entropy
with every noise layer sampling (Monte-Carlo dropout at inference), which by
data processing bounds every layer below the decoder.
"""

import contextlib
import csv
import os

import keras
import numpy as np

from infodropout_tf import _validation
from infodropout_tf import atomic_files
from infodropout_tf import keras_utils
from infodropout_tf import workdir_files
from infodropout_tf.information import bounds
from infodropout_tf.information.binning import binning_information
from infodropout_tf.information.gaussian_dropout import additive_gaussian_information
from infodropout_tf.information.gaussian_dropout import gaussian_dropout_information
from infodropout_tf.information.mine import mine_lower_bound
from infodropout_tf.layers import GaussianDropout
from infodropout_tf.layers import InformationDropout
from infodropout_tf.layers import ZeroEntropyNoise
from infodropout_tf.layers.noise_layer import NoiseLayer
from infodropout_tf.layers.noise_layer import sampling_at_inference
from infodropout_tf.layers.noise_layer import suppress_noise
from infodropout_tf.layers.zero_entropy_noise import ZERO_ENTROPY_VARIANCE

FIELDS = ("epoch", "split", "layer", "estimator", "mutual_information_x",
          "mutual_information_y", "relative_to_prior_constant")

ESTIMATORS = ("closed_form_kl", "gaussian_mixture", "binning", "mine")

# The rows file of a run and its CSV copy (`write_rows`).
JSON_FILE = "information_plane.json"
CSV_FILE = "information_plane.csv"

# What a row of information_plane.json must hold; `epoch` counts the epochs
# completed (0: before training).
_ROW_FIELDS = {"epoch": workdir_files.integer(0), "split": workdir_files.TEXT,
               "layer": workdir_files.TEXT, "estimator": workdir_files.TEXT,
               "mutual_information_x": workdir_files.NUMBER,
               "mutual_information_y": workdir_files.NUMBER,
               "relative_to_prior_constant": workdir_files.BOOLEAN}

# The estimators that hold for some kinds of layer only, and those kinds.
_LAYER_TYPES = {"closed_form_kl": (InformationDropout,),
                "gaussian_mixture": (GaussianDropout, ZeroEntropyNoise)}


def valid_estimators(layer):
    """The names in `ESTIMATORS` that can estimate I(X; Z) at `layer`."""
    return tuple(name for name in ESTIMATORS
                 if name not in _LAYER_TYPES or isinstance(layer, _LAYER_TYPES[name]))


def default_estimator(layer):
    """The estimator of `layer` by its type: `"closed_form_kl"` for
    information dropout, `"gaussian_mixture"` for Gaussian dropout and
    zero-entropy noise, else `"binning"`."""
    for name, layer_type in _LAYER_TYPES.items():
        if isinstance(layer, layer_type):
            return name
    return "binning"


def check_estimators(estimators, layer_names):
    """`estimators` as a dict, checked without the model.

    Args:
        estimators: Dict {layer name: estimator name}, or None (`{}`).
        layer_names: The layers followed.

    Returns:
        A new dict.

    Raises:
        ValueError: not a dict of strings, an estimator not in
            `ESTIMATORS`, or a layer not in `layer_names`.
    """
    if estimators is None:
        return {}
    received = f"estimators={estimators!r}"
    if not isinstance(estimators, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in estimators.items()):
        raise _validation.error("estimators", "a dict {layer name: estimator name} or None",
                                received)
    for name, estimator in estimators.items():
        if estimator not in ESTIMATORS:
            raise _validation.error(
                "estimators", f"for layer {name!r} one of {list(ESTIMATORS)}, not {estimator!r}",
                received)
        if name not in layer_names:
            raise _validation.error(
                "estimators", f"only layers of layer_names {list(layer_names)}; add {name!r} "
                "to layer_names", received)
    return dict(estimators)


def choose_estimators(model, layer_names, estimators=None):
    """The estimator of every layer: the one asked for, else by layer type.

    Args:
        model: A classifier (a `Classifier` or a functional model).
        layer_names: Sequence of names of layers in its network.
        estimators: Dict {layer name: estimator name} (names of
            `ESTIMATORS`) for some of `layer_names`, or None.

    Returns:
        A dict {layer name: estimator name}, in the order of `layer_names`.

    Raises:
        ValueError: an unknown estimator, a layer not in `layer_names`, or
            an estimator that does not hold for its layer
            (`closed_form_kl` off an `InformationDropout` layer,
            `gaussian_mixture` off a `GaussianDropout` or
            `ZeroEntropyNoise` layer).
    """
    estimators = check_estimators(estimators, layer_names)
    network = keras_utils.network_of(model)
    chosen = {}
    for name in layer_names:
        layer = network.get_layer(name)
        estimator = estimators.get(name, default_estimator(layer))
        valid = valid_estimators(layer)
        if estimator not in valid:
            required = " or ".join(t.__name__ for t in _LAYER_TYPES[estimator])
            raise _validation.error(
                "estimators", f"for layer {name!r}, a {type(layer).__name__}, one of "
                f"{list(valid)} ({estimator!r} holds only for {required} layers)",
                f"estimators={estimators!r}")
        chosen[name] = estimator
    return chosen


def _check_mine_options(steps, batch_size, hidden_units, learning_rate):
    _validation.positive_int("mine_steps", steps)
    _validation.positive_int("mine_batch_size", batch_size)
    if not isinstance(hidden_units, (list, tuple)) or not hidden_units:
        raise _validation.error("mine_hidden_units", "a non-empty sequence of widths",
                                f"mine_hidden_units={hidden_units!r}")
    for units in hidden_units:
        _validation.positive_int("mine_hidden_units", units)
    _validation.positive_float("mine_learning_rate", learning_rate)


@contextlib.contextmanager
def _seeded_noise(model, seed):
    """Every noise layer of `model` draws from a stream fixed by `seed`, then
    resumes its own stream where it was (training's draws are unchanged)."""
    layers = [layer for layer in keras_utils.nested_layers(model, include_self=True)
              if isinstance(layer, NoiseLayer)]
    states = [layer.seed_generator.state for layer in layers]
    saved = [np.asarray(state.numpy()) for state in states]
    try:
        for index, state in enumerate(states):
            # A distinct stream per layer: SeedGenerator counts in the second
            # entry, so the first tells the layers apart.
            start = np.random.SeedSequence([seed, index]).generate_state(1)[0] >> 1
            state.assign(np.array([start, 0], dtype=saved[index].dtype))
        yield
    finally:
        for state, value in zip(states, saved):
            state.assign(value)


def _representations(model, layer_name, dataset, noisy=False, seed=0):
    """Inputs, outputs of `layer_name` and labels of `dataset`.

    With `noisy=False` no noise layer draws (the noise-free representation);
    with `noisy=True` every noise layer draws, from streams fixed by `seed`.
    """
    network = keras_utils.network_of(model)
    # One input as a tensor, not a list of one: the sub-model is then called
    # on a batch as the network is, without Keras's structure warning.
    model_inputs = network.inputs[0] if len(network.inputs) == 1 else network.inputs
    to_outputs = keras.Model(model_inputs, network.get_layer(layer_name).output)
    inputs, outputs, labels = [], [], []
    with contextlib.ExitStack() as stack:
        if noisy:
            stack.enter_context(sampling_at_inference(network))
            stack.enter_context(_seeded_noise(network, seed))
        else:
            stack.enter_context(suppress_noise())
        for x, y in dataset:
            inputs.append(np.asarray(x))
            outputs.append(np.asarray(to_outputs(x, training=False)))
            labels.append(np.asarray(y).reshape(-1))
    return np.concatenate(inputs), np.concatenate(outputs), np.concatenate(labels)


def estimate_information_plane(model, layer_names, dataset, estimators=None, num_samples=10,
                               num_bins=30, gaussian_components=None, gaussian_samples=5000,
                               mine_steps=200, mine_batch_size=256, mine_hidden_units=(64, 64),
                               mine_learning_rate=1e-3, seed=0):
    """Rows of (layer, estimator, I(X; Z), I(Z; Y)) for one dataset.

    Args:
        model: A trained classifier (a `Classifier` or a functional model).
        layer_names: Sequence of names of layers in its network (noise
            layers or any other, e.g. a `Dense`).
        dataset: `(x, y)` batches, at least one example. The
            Gaussian-mixture estimate compares every example with every
            other: 10,000 examples of 84 units take about a second.
        estimators: Dict {layer name: estimator name} choosing the I(X; Z)
            estimator of some of `layer_names` among `ESTIMATORS`
            (`"closed_form_kl"`, `"gaussian_mixture"`, `"binning"`,
            `"mine"`), or None; any other layer gets `default_estimator`.
        num_samples: Integer > 0, noise samples for the I(Z; Y) bound.
        num_bins: Integer > 0, bins per unit of the binning estimate.
        gaussian_components, gaussian_samples: Mixture components (integer
            > 0, or None for one per example: the estimate cannot exceed
            log of their number) and Monte-Carlo samples (integer > 0) of
            the Gaussian-mixture estimator.
        mine_steps, mine_batch_size, mine_hidden_units, mine_learning_rate:
            MINE's Adam steps (integer > 0), batch size (integer > 0),
            statistics-network widths (non-empty sequence of integers > 0)
            and learning rate (finite float > 0). The defaults keep one
            estimate to seconds; raise `mine_steps` for final numbers.
            The network trains on 80% of `dataset`'s examples and the bound
            is evaluated on the held-out 20% (`mine_lower_bound`'s default
            `validation_fraction`, 0.2).
        seed: Integer >= 0, seed of the Gaussian-mixture samples, of MINE's
            network and batches, and of the noise MINE's Z is drawn with
            (the same model and seed give the same I(X; Z); the layers' own
            streams are left where they were). The I(Z; Y) bound's noise
            comes from the layers' own streams.

    Returns:
        A list of dicts with the keys of `FIELDS` but `epoch` and `split`:
        for each layer, a row of its estimator and, unless that is binning,
        a binning row beside it. A zero-entropy layer's Gaussian-mixture
        row also has `residual_information`, I(X; Z'|Y) = H(Z'|Y) (JSON
        only, not a CSV column).

    Raises:
        ValueError: for an argument out of its range, or an estimator that
            does not hold for its layer (see `choose_estimators`), naming
            it, before any estimate is computed.
    """
    if isinstance(layer_names, str):  # would be read as one name per letter
        raise _validation.error("layer_names", "a sequence of layer names",
                                f"layer_names={layer_names!r}")
    check_estimators(estimators, layer_names)
    _validation.positive_int("num_samples", num_samples)
    _validation.positive_int("num_bins", num_bins)
    _validation.positive_int("gaussian_components", gaussian_components, allow_none=True)
    _validation.positive_int("gaussian_samples", gaussian_samples)
    _check_mine_options(mine_steps, mine_batch_size, mine_hidden_units, mine_learning_rate)
    _validation.non_negative_int("seed", seed)
    network = keras_utils.network_of(model)
    chosen = choose_estimators(model, layer_names, estimators)
    label_bound = bounds.label_information_bound(model, dataset, num_samples)
    rows = []
    for name, estimator in chosen.items():
        layer = network.get_layer(name)
        inputs, features, labels = _representations(model, name, dataset)
        if estimator == "closed_form_kl":
            bound = bounds.information_dropout_bound(model, name, dataset)
            rows.append({"layer": name, "estimator": estimator,
                         "mutual_information_x": bound["mutual_information_bound"],
                         "relative_to_prior_constant": bound["relative_to_prior_constant"]})
        elif estimator == "gaussian_mixture" and isinstance(layer, ZeroEntropyNoise):
            options = {"noise_std": np.sqrt(ZERO_ENTROPY_VARIANCE),
                       "num_components": gaussian_components,
                       "num_samples": gaussian_samples, "seed": seed}
            estimate = additive_gaussian_information(features, **options)
            # H(Z'|Y) = sum_c p(c) H(Z'|Y=c), with H(Z'|X) = 0 in each class.
            residual = sum(np.mean(labels == c) * additive_gaussian_information(
                features[labels == c], **options)["mutual_information"]
                for c in np.unique(labels))
            rows.append({"layer": name, "estimator": estimator,
                         "mutual_information_x": estimate["mutual_information"],
                         "residual_information": float(residual),
                         "relative_to_prior_constant": False})
        elif estimator == "gaussian_mixture":
            estimate = gaussian_dropout_information(
                features, layer.stddev, num_components=gaussian_components,
                num_samples=gaussian_samples, seed=seed)
            rows.append({"layer": name, "estimator": estimator,
                         "mutual_information_x": estimate["mutual_information"],
                         "relative_to_prior_constant": False})
        elif estimator == "mine":
            _, noisy_features, _ = _representations(model, name, dataset, noisy=True, seed=seed)
            estimate = mine_lower_bound(
                inputs, noisy_features, hidden_units=tuple(mine_hidden_units), steps=mine_steps,
                batch_size=mine_batch_size, learning_rate=mine_learning_rate, seed=seed)
            rows.append({"layer": name, "estimator": estimator, "mutual_information_x": estimate,
                         "relative_to_prior_constant": False})
        binned = binning_information(features, labels, num_bins=num_bins)
        rows.append({"layer": name, "estimator": "binning",
                     "mutual_information_x": binned["mutual_information_x"],
                     "relative_to_prior_constant": False})
        rows[-1]["binned_mutual_information_y"] = binned["mutual_information_y"]
    for row in rows:
        row["mutual_information_y"] = label_bound
    return rows


def write_rows(folder, rows):
    """Writes `rows` as `folder`'s `information_plane.json` and `.csv`.

    The JSON holds every field of every row (a zero-entropy layer's
    `residual_information` too); the CSV the columns of `FIELDS`. Each file
    is replaced atomically, so an interrupted run never leaves one
    half-written.

    Args:
        folder: An existing folder.
        rows: Dicts with at least the keys of `FIELDS`.
    """
    atomic_files.write_json(os.path.join(folder, JSON_FILE), rows)
    with atomic_files.open_for_writing(os.path.join(folder, CSV_FILE), newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def read_rows(path, fix):
    """The rows of an `information_plane.json`, each checked.

    Args:
        path: The file.
        fix: What the user should do, the last sentence of any error.

    Raises:
        WorkdirError: the file is not a JSON array of rows with the
            fields of `FIELDS` (`epoch` an integer >= 0, the estimates
            numbers); the message names the file and the row.
    """
    rows = workdir_files.read_json(path, fix, expected=list)
    workdir_files.check_items(path, rows, _ROW_FIELDS, fix)
    return rows
