"""Batched, shuffled, prefetched `tf.data` pipelines for every experiment.

All data goes through tensorflow-datasets and is read from `data_dir`. A
dataset missing there is prepared first, as `tfds.load` does: MNIST and
CIFAR-10 downloaded by tensorflow-datasets, the generated datasets generated
from them (`download.py`); `download=False` refuses instead. Clusters
without internet prepare the data with `python -m infodropout_tf.data
prepare` (`prepare.py`).

| name | examples | pixels |
| --- | --- | --- |
| `mnist` | (28, 28, 1) image, digit label | float32 in [0, 1] |
| `binarized_mnist` | MNIST pixels p drawn as Bernoulli(p) | float32 in {0, 1} |
| `cifar10` | (32, 32, 3) image, class label | standardised per image, ZCA-whitened |
| `cluttered_mnist` | (96, 96, 1) digit among 21 distractors; `digit_box` | float32 in [0, 1] |
| `occluded_cifar10` | CIFAR-10 behind an MNIST digit; `nuisance_label` | as `cifar10` |
| `occluded_mnist` | (32, 32, 1) digit behind a half-size digit; `nuisance_label` | float32 in [0, 1] |

`binarized_mnist` is binarised here from MNIST (not tensorflow-datasets'
own `binarized_mnist`, Larochelle's fixed sample, which needs a download):
dynamically by default for training, a fresh Bernoulli draw every epoch
(Burda et al. 2016), and statically for testing, one draw per example fixed
by the seed and the example index.
"""

import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from infodropout_tf import _validation
from infodropout_tf.data import download as downloads
from infodropout_tf.data import zca
from infodropout_tf.data.cluttered_mnist import ClutteredMnist
from infodropout_tf.data.cluttered_mnist import ClutteredMnistConfig
from infodropout_tf.data.occluded_cifar import OccludedCifar10
from infodropout_tf.data.occluded_cifar import OccludedCifar10Config
from infodropout_tf.data.occluded_mnist import OccludedMnist
from infodropout_tf.data.occluded_mnist import OccludedMnistConfig

DATASETS = ("mnist", "binarized_mnist", "cifar10", "cluttered_mnist", "occluded_cifar10",
            "occluded_mnist")
# The prepared tensorflow-datasets dataset each pipeline reads.
SOURCES = {"mnist": "mnist", "binarized_mnist": "mnist", "cifar10": "cifar10",
           "cluttered_mnist": "cluttered_mnist", "occluded_cifar10": "occluded_cifar10",
           "occluded_mnist": "occluded_mnist"}
# What each generated dataset is made from.
REQUIREMENTS = {"cluttered_mnist": ("mnist",), "occluded_cifar10": ("cifar10", "mnist"),
                "occluded_mnist": ("mnist",)}
SHUFFLE_BUFFER = 10_000


def check_name(name):
    _validation.one_of("name", name, DATASETS)


def default_data_dir(data_dir):
    """`data_dir`, else $TFDS_DATA_DIR, else ~/tensorflow_datasets."""
    if data_dir is None:
        data_dir = os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")
    return os.fspath(data_dir)


def resolve_data_dir(data_dir):
    """`default_data_dir(data_dir)`, which must exist."""
    data_dir = default_data_dir(data_dir)
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(
            f"data_dir {data_dir} does not exist. Pass the tensorflow-datasets "
            "directory that holds the prepared datasets (or set TFDS_DATA_DIR), "
            "or prepare them there with `python -m infodropout_tf.data prepare`."
        )
    return data_dir


def _config(builder_class, config):
    # tensorflow-datasets wants the name of a predefined config, and refuses
    # an equal object under the same name.
    predefined = {c.name for c in builder_class.BUILDER_CONFIGS}
    return config.name if config.name in predefined else config


def builder(name, data_dir, **config):
    """The tensorflow-datasets builder behind pipeline `name`.

    `config` holds the generation options of `cluttered_mnist`
    (`image_size`, `num_distractors`, `generation_seed`, `num_train`,
    `num_test`), `occluded_cifar10` (`generation_seed`) and `occluded_mnist`
    (`generation_seed`, `num_train`, `num_test`); the other datasets take
    none.
    """
    source = SOURCES[name]
    if source == "cluttered_mnist":
        return ClutteredMnist(config=_config(ClutteredMnist, ClutteredMnistConfig(**config)),
                              data_dir=data_dir, mnist_data_dir=data_dir)
    if source == "occluded_mnist":
        return OccludedMnist(config=_config(OccludedMnist, OccludedMnistConfig(**config)),
                             data_dir=data_dir, mnist_data_dir=data_dir)
    if source == "occluded_cifar10":
        return OccludedCifar10(config=_config(OccludedCifar10, OccludedCifar10Config(**config)),
                               data_dir=data_dir, source_data_dir=data_dir)
    if config:
        raise ValueError(f"Dataset {name!r} takes no generation options; received {sorted(config)}.")
    return tfds.builder(source, data_dir=data_dir)


def offline_command(name, data_dir):
    """How to prepare dataset `name` in `data_dir` without internet."""
    source = SOURCES[name]
    if source in ("mnist", "cifar10"):
        return (f"python -m infodropout_tf.data prepare {source} --from DIR "
                f"--data_dir {data_dir}, with DIR holding the archives downloaded by hand "
                "(see `python -m infodropout_tf.data prepare --help`)")
    return (f"python -m infodropout_tf.data prepare {source} --data_dir {data_dir} "
            "with the same generation options, after preparing its sources")


def require_prepared(dataset_builder, name, data_dir, download_refused=False):
    """Raises FileNotFoundError, naming the fix, if the dataset is not prepared.

    `download_refused`: the loader was asked not to download, so the
    message also names the switch that would.
    """
    if dataset_builder.is_prepared():
        return
    fetch = (" or let the loader fetch it: download=True (in a config "
             "--config.dataset.download=True)" if download_refused else "")
    raise FileNotFoundError(
        f"Dataset {name!r} ({dataset_builder.info.full_name}) is not prepared in "
        f"{data_dir}, and nothing is downloaded. Prepare it with: "
        f"{offline_command(name, data_dir)}{fetch}."
    )


def _scale_to_unit(features):
    features = dict(features)
    features["image"] = tf.cast(features["image"], tf.float32) / 255.0
    return features


def _whitening_fn(matrix, mean):
    matrix, mean = tf.constant(matrix), tf.constant(mean)

    def whiten(features):
        features = dict(features)
        images = tf.cast(features["image"], tf.float32)
        shape = tf.shape(images)
        flat = tf.reshape(images, [shape[0], -1])
        flat = flat - tf.reduce_mean(flat, axis=1, keepdims=True)
        dimension = tf.cast(tf.shape(flat)[1], tf.float32)
        std = tf.sqrt(tf.reduce_sum(tf.square(flat), axis=1, keepdims=True) / (dimension - 1.0))
        flat = flat / tf.where(std < 1e-8, tf.ones_like(std), std)
        # The matrix is symmetric: (x - m) W^T = (x - m) W.
        features["image"] = tf.reshape(tf.matmul(flat - mean, matrix), shape)
        return features

    return whiten


def _binarize(seed, static):
    def draw(index, features):
        features = dict(features)
        probabilities = features["image"]
        if static:
            seeds = tf.stack([tf.cast(seed, tf.int64), index])
        else:
            seeds = index  # a fresh (2,) seed from Dataset.random per draw
        uniform = tf.random.stateless_uniform(tf.shape(probabilities), seed=seeds)
        features["image"] = tf.cast(uniform < probabilities, tf.float32)
        return features

    return draw


def _prepared_builder(name, data_dir, config, download):
    """The dataset's builder, prepared first if missing and `download` allows."""
    check_name(name)
    if not isinstance(download, bool):
        raise _validation.error("download", "True or False", f"download={download!r}")
    if not download:
        data_dir = resolve_data_dir(data_dir)
        dataset_builder = builder(name, data_dir, **config)
        require_prepared(dataset_builder, name, data_dir, download_refused=True)
        return dataset_builder
    data_dir = default_data_dir(data_dir)
    downloads.check_data_dir(data_dir)
    dataset_builder = builder(name, data_dir, **config)  # options checked before any download
    if not dataset_builder.is_prepared():
        made_from = REQUIREMENTS.get(SOURCES[name], ())
        for source in made_from:
            source_builder = builder(source, data_dir)
            if not source_builder.is_prepared():
                downloads.fetch(source_builder, source, data_dir, offline_command(source, data_dir))
        downloads.fetch(dataset_builder, name, data_dir, offline_command(name, data_dir),
                        made_from=made_from)
    return dataset_builder


def _examples(dataset_builder, name, split, seed, shuffle_files, cache, label_key,
              binarization, zca_dir):
    """The split's decoded examples (whitened, statically binarised), unbatched."""
    features_info = dataset_builder.info.features
    if label_key not in features_info:
        raise ValueError(
            f"Invalid value received for argument `label_key`. Dataset {name!r} has "
            f"features {sorted(features_info.keys())}. Received: label_key={label_key!r}"
        )
    _validation.one_of("binarization", binarization, ("dynamic", "static"))
    # `cache` decides alone: tensorflow-datasets' own cache of small
    # datasets would be filled partly and discarded by short epochs.
    read_config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=False)
    data = dataset_builder.as_dataset(split=split, shuffle_files=shuffle_files,
                                      read_config=read_config)
    if name in ("cifar10", "occluded_cifar10"):
        matrix, mean = zca.load_or_fit(
            zca_dir or os.fspath(dataset_builder.data_path),
            lambda: tfds.as_numpy(dataset_builder.as_dataset(split="train", batch_size=-1))["image"],
        )
        # Whitening is a matrix product: batch it, then cache the result.
        data = data.batch(1000).map(_whitening_fn(matrix, mean)).unbatch()
    else:
        data = data.map(_scale_to_unit, num_parallel_calls=tf.data.AUTOTUNE)
    if name == "binarized_mnist" and binarization == "static":
        data = data.enumerate().map(_binarize(seed, static=True))
    return data.cache() if cache else data


def _as_pairs(data, as_dict, label_key):
    if not as_dict:
        data = data.map(lambda features: (features["image"], features[label_key]))
    return data.prefetch(tf.data.AUTOTUNE)


def load(
    name,
    split="train",
    data_dir=None,
    batch_size=128,
    shuffle=None,
    seed=0,
    drop_remainder=None,
    cache=True,
    as_dict=False,
    label_key="label",
    binarization=None,
    zca_dir=None,
    download=True,
    **config,
):
    """Returns a batched, prefetched `tf.data.Dataset` of a dataset.

    Each pass over the dataset is shuffled anew (and, for dynamically
    binarised training images, binarised anew), in an order that depends on
    `seed` and on how many passes came before in this process. A training
    run that must be resumed exactly uses `load_epochs`, whose epoch k
    depends on the seed and k alone.

    Args:
        name: One of `DATASETS`.
        split: A tensorflow-datasets split, e.g. `"train"`, `"test"`,
            `"train[:90%]"`.
        data_dir: tensorflow-datasets directory; defaults to
            $TFDS_DATA_DIR, then ~/tensorflow_datasets.
        batch_size: Positive integer, the global batch size.
        shuffle: Boolean; defaults to True for training splits. Files and
            examples are shuffled with `seed`, anew each epoch.
        seed: Integer seed of the shuffling and of the binarisation.
        drop_remainder: Boolean; defaults to True for training splits
            (BatchNorm and tf.distribute want equal batches).
        cache: Boolean, keep the decoded (and whitened) examples in memory.
        as_dict: Boolean. False yields `(image, label)` pairs for `fit`;
            True yields the feature dict (with `digit_box`,
            `nuisance_label`, ... where the dataset has them).
        label_key: Feature used as the label in pairs (`"nuisance_label"`
            selects the MNIST digit of `occluded_cifar10`).
        binarization: `binarized_mnist` only: `"dynamic"` (default for
            training splits) or `"static"` (default otherwise).
        zca_dir: Where the ZCA matrix of `cifar10` / `occluded_cifar10` is
            stored and reused; defaults to the prepared dataset's folder.
        download: Boolean. True prepares a dataset missing from `data_dir`
            first, as `tfds.load` does, with one line on stderr: `mnist` and
            `cifar10` are downloaded by tensorflow-datasets (`data_dir` is
            created if missing), the generated datasets are generated from
            them (downloaded first if missing). False reads only prepared
            data, for clusters without internet (see `prepare`).
        **config: Generation options of `cluttered_mnist`,
            `occluded_cifar10` and `occluded_mnist` (see `builder`).

    Returns:
        A `tf.data.Dataset`.

    Raises:
        ValueError: unknown dataset, options or label key, or a batch size
            that is not a positive integer.
        FileNotFoundError: with `download=False`, missing `data_dir` or
            dataset not prepared (the message says how to prepare it
            offline).
        download.DownloadError: the download failed, e.g. without
            network (the message names what failed and how to prepare the
            dataset offline; nothing is left in `data_dir`).
        NotADirectoryError: `data_dir` is, or lies under, a file.
    """
    _validation.positive_int("batch_size", batch_size)
    dataset_builder = _prepared_builder(name, data_dir, config, download)
    training = split.startswith("train")
    shuffle = training if shuffle is None else shuffle
    drop_remainder = training if drop_remainder is None else drop_remainder
    if binarization is None:
        binarization = "dynamic" if training else "static"
    data = _examples(dataset_builder, name, split, seed, shuffle, cache, label_key,
                     binarization, zca_dir)
    if shuffle:
        data = data.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size, drop_remainder=drop_remainder)
    if name == "binarized_mnist" and binarization == "dynamic":
        # One draw per batch, not per example: a single op for the whole
        # batch keeps the pipeline well ahead of training.
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        data = tf.data.Dataset.zip(draws, data).map(_binarize(seed, static=False),
                                                    num_parallel_calls=tf.data.AUTOTUNE)
    return _as_pairs(data, as_dict, label_key)


def epoch_seed(seed, epoch):
    """The seed of epoch `epoch`'s shuffle and binarisation, a function of
    `seed` and `epoch` alone (NumPy's `SeedSequence` hash of the two)."""
    return int(np.random.SeedSequence([seed % 2**63, epoch]).generate_state(1, np.uint64)[0] >> 1)


def _concatenated(datasets):
    """`datasets` one after the other, nested as a balanced tree: a chain of
    hundreds of `concatenate`s would be as deep as the run is long."""
    if len(datasets) == 1:
        return datasets[0]
    middle = len(datasets) // 2
    return _concatenated(datasets[:middle]).concatenate(_concatenated(datasets[middle:]))


def load_epochs(
    name,
    split="train",
    *,
    first_epoch,
    num_epochs,
    steps_per_epoch,
    data_dir=None,
    batch_size=128,
    seed=0,
    cache=True,
    as_dict=False,
    label_key="label",
    binarization="dynamic",
    zca_dir=None,
    download=True,
    **config,
):
    """Training batches of epochs `first_epoch` to `num_epochs - 1`, in order.

    Epoch k is `steps_per_epoch` full batches of the split shuffled with
    `epoch_seed(seed, k)` (passing over the split again within the epoch
    if it needs more batches than one pass holds) and, for dynamically
    binarised images, binarised with draws keyed by that seed and the
    batch's index. So epoch k's batches are a function of `seed` and k
    alone: a run resumed at epoch k sees the data the uninterrupted run saw,
    whatever happened in earlier epochs or processes. Pass the dataset to
    `model.fit` with `initial_epoch=first_epoch` and `steps_per_epoch`.

    Args:
        name, split, data_dir, batch_size, seed, cache, as_dict, label_key,
            binarization, zca_dir, download, **config: As for `load`;
            `binarization` defaults to `"dynamic"`.
        first_epoch: Integer >= 0, the first epoch (0-based) to yield.
        num_epochs: Integer >= first_epoch, one past the last epoch.
        steps_per_epoch: Positive integer, batches per epoch.

    Returns:
        A `tf.data.Dataset` of `(num_epochs - first_epoch) * steps_per_epoch`
        batches.

    Raises:
        As `load`, and ValueError for epochs or steps out of range.
    """
    _validation.positive_int("batch_size", batch_size)
    _validation.positive_int("steps_per_epoch", steps_per_epoch)
    first_epoch = _validation.non_negative_int("first_epoch", first_epoch)
    num_epochs = _validation.int_in("num_epochs", num_epochs, first_epoch)
    dataset_builder = _prepared_builder(name, data_dir, config, download)
    # Only an epoch that reads the whole split completes the cache; shorter
    # ones would fill it partly and discard it every epoch.
    num_examples = dataset_builder.info.splits[split].num_examples
    cache = cache and steps_per_epoch * batch_size >= num_examples
    examples = _examples(dataset_builder, name, split, seed, True, cache, label_key,
                         binarization, zca_dir)
    dynamic = name == "binarized_mnist" and binarization == "dynamic"

    def epoch(index):
        # A Python seed per epoch: tf.data cannot take a seed tensor while
        # TensorFlow's global seed is 0 (keras.utils.set_random_seed(0)).
        seed_of_epoch = epoch_seed(seed, index)
        batches = (examples.shuffle(SHUFFLE_BUFFER, seed=seed_of_epoch)
                   .repeat()
                   .batch(batch_size, drop_remainder=True)
                   .take(steps_per_epoch))
        if dynamic:
            batches = batches.enumerate().map(_binarize(seed_of_epoch, static=True),
                                              num_parallel_calls=tf.data.AUTOTUNE)
        return batches

    if first_epoch == num_epochs:
        data = examples.batch(batch_size).take(0)
    else:
        data = _concatenated([epoch(k) for k in range(first_epoch, num_epochs)])
    return _as_pairs(data, as_dict, label_key)


def num_examples(name, split="train", data_dir=None, download=True, **config):
    """The number of examples of a split (the N of the IB loss); `download`
    as for `load`."""
    dataset_builder = _prepared_builder(name, data_dir, config, download)
    return dataset_builder.info.splits[split].num_examples

