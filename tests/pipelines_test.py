"""Batched, shuffled and whitened `tf.data` pipelines (`infodropout_tf.data.pipelines`).

Real MNIST comes from ../shared (TFDS_DATA_DIR); CIFAR-10 is faked in the
format of its python archive (conftest.py's `fake_cifar`).
"""

import os

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf.data import zca


TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_mnist_counts_histogram_and_pixel_range(shared_data_dir):
    assert data.num_examples("mnist", "train", shared_data_dir) == 60_000
    assert data.num_examples("mnist", "test", shared_data_dir) == 10_000
    histogram = np.zeros(10, np.int64)
    low, high, count = 1.0, 0.0, 0
    for images, labels in data.load("mnist", "train", shared_data_dir, batch_size=10_000,
                                    shuffle=False, cache=False):
        histogram += np.bincount(labels.numpy(), minlength=10)
        low, high = min(low, float(images.numpy().min())), max(high, float(images.numpy().max()))
        count += len(labels)
        assert images.shape[1:] == (28, 28, 1) and images.dtype == "float32"
    assert count == 60_000
    assert histogram.tolist() == TRAIN_HISTOGRAM
    assert (low, high) == (0.0, 1.0)


def test_training_batches_are_full_shuffled_and_reproducible(shared_data_dir, as_numpy):
    def first_labels(seed):
        batch = next(iter(data.load("mnist", "train[:1000]", shared_data_dir, batch_size=300,
                                    seed=seed)))
        return batch[1].numpy()

    batches = list(data.load("mnist", "train[:1000]", shared_data_dir, batch_size=300))
    assert [len(b[1]) for b in batches] == [300, 300, 300]  # drop_remainder
    tests = list(data.load("mnist", "test[:1000]", shared_data_dir, batch_size=300))
    assert [len(b[1]) for b in tests] == [300, 300, 300, 100]
    np.testing.assert_array_equal(first_labels(1), first_labels(1))
    assert not np.array_equal(first_labels(1), first_labels(2))
    unshuffled = as_numpy("mnist", "train[:300]", shared_data_dir)["label"]
    assert not np.array_equal(first_labels(1), unshuffled)


def test_binarized_mnist_is_bernoulli_of_the_pixels(shared_data_dir):
    probabilities = next(iter(data.load("mnist", "test[:2000]", shared_data_dir,
                                        batch_size=2000)))[0].numpy()
    static = [next(iter(data.load("binarized_mnist", "test[:2000]", shared_data_dir,
                                  batch_size=2000)))[0].numpy() for _ in range(2)]
    assert set(np.unique(static[0])) == {0.0, 1.0}
    np.testing.assert_array_equal(static[0], static[1])  # fixed draw
    # Each pixel is 1 with its intensity as probability: the mean matches
    # within 4 standard errors over 1.57 million pixels.
    variance = np.sum(probabilities * (1 - probabilities)) / probabilities.size ** 2
    assert abs(static[0].mean() - probabilities.mean()) < 4 * np.sqrt(variance)

    dynamic = data.load("binarized_mnist", "train[:512]", shared_data_dir, batch_size=512,
                        shuffle=False)
    first_epoch, second_epoch = (next(iter(dynamic))[0].numpy() for _ in range(2))
    assert set(np.unique(first_epoch)) == {0.0, 1.0}
    assert not np.array_equal(first_epoch, second_epoch)  # a fresh draw every epoch


def test_cifar_pipeline_standardises_whitens_and_reuses_the_matrix(tmp_path, monkeypatch,
                                                                   fake_cifar, as_numpy):
    _, batches = fake_cifar.fake(str(tmp_path))
    data_dir = str(tmp_path / "tfds")
    data.prepare("cifar10", data_dir, source_dir=str(tmp_path), verify_checksum=False)
    assert data.num_examples("cifar10", "train", data_dir) == 200

    images, labels = next(iter(data.load("cifar10", "test", data_dir, batch_size=50)))
    stored = np.load(os.path.join(data_dir, "cifar10", "3.0.2", zca.FILENAME))
    raw = as_numpy("cifar10", "test", data_dir)
    expected = (zca.standardize(raw["image"]) - stored["mean"]) @ stored["matrix"]
    # 200 fake images span few of the 3072 directions, so the whitening
    # amplifies the rest by up to 1e5: compare relative to that scale.
    np.testing.assert_allclose(images.numpy().reshape(50, -1), expected,
                               atol=1e-5 * np.abs(expected).max())
    np.testing.assert_array_equal(labels, raw["label"])
    # The test split in tfds order is the fake test batch in some order.
    assert sorted(raw["label"].tolist()) == sorted(batches["test_batch"]["labels"])

    def refit(*args, **kwargs):
        raise AssertionError("the stored ZCA matrix must be reused, not refitted")

    monkeypatch.setattr(zca, "fit", refit)
    again = next(iter(data.load("cifar10", "test", data_dir, batch_size=50)))[0]
    np.testing.assert_array_equal(again, images)


def _epochs(data_dir, name, first_epoch, num_epochs=3, seed=7):
    batches = data.load_epochs(name, "train[:1000]", first_epoch=first_epoch,
                               num_epochs=num_epochs, steps_per_epoch=4, data_dir=data_dir,
                               batch_size=100, seed=seed)
    return [(images.numpy(), labels.numpy()) for images, labels in batches]


@pytest.mark.parametrize("name", ["mnist", "binarized_mnist"])
def test_an_epochs_batches_depend_on_the_seed_and_the_epoch_alone(name, shared_data_dir):
    from_start = _epochs(shared_data_dir, name, first_epoch=0)
    resumed = _epochs(shared_data_dir, name, first_epoch=2)
    assert len(from_start) == 12 and len(resumed) == 4
    for (images, labels), (expected_images, expected_labels) in zip(resumed, from_start[8:]):
        np.testing.assert_array_equal(labels, expected_labels)
        np.testing.assert_array_equal(images, expected_images)
    # Epochs are shuffled differently from each other and by another seed;
    # 4 batches of 100 out of 1,000 examples: epoch 1 passes over the
    # split again (a new order) within 10 batches.
    first_labels = [labels for _, labels in from_start]
    assert not np.array_equal(first_labels[0], first_labels[4])
    assert not np.array_equal(first_labels[0], _epochs(shared_data_dir, name, 0, seed=8)[0][1])
    # Each epoch holds distinct examples until it has used the whole split.
    epoch = np.concatenate([images.reshape(100, -1) for images, _ in from_start[:4]])
    assert len(np.unique(epoch, axis=0)) >= 390  # a few MNIST digits are duplicates


def test_dynamic_binarisation_redraws_each_epoch(shared_data_dir):
    """One image, one per epoch, is binarised anew each epoch, by draws fixed
    by the seed and the epoch."""
    def images(first_epoch):
        return [image.numpy()[0] for image, _ in data.load_epochs(
            "binarized_mnist", "train[:1]", first_epoch=first_epoch, num_epochs=3,
            steps_per_epoch=1, data_dir=shared_data_dir, batch_size=1, seed=3)]

    grey = next(iter(data.load("mnist", "train[:1]", shared_data_dir, batch_size=1)))[0][0]
    grey = grey.numpy()
    uncertain = (grey > 0.2) & (grey < 0.8)
    draws = images(0)
    for draw in draws:  # Bernoulli(p): 0 where p = 0, 1 where p = 1
        assert (draw[grey == 0] == 0).all() and (draw[grey == 1] == 1).all()
    # Each uncertain pixel differs between two epochs with probability
    # 2p(1-p) >= 0.32; over the image's uncertain pixels, far above 0.1.
    assert uncertain.sum() > 30
    assert np.mean(draws[0][uncertain] != draws[1][uncertain]) > 0.1
    np.testing.assert_array_equal(images(2)[0], draws[2])


def test_load_epochs_refuses_bad_epochs_and_sizes(shared_data_dir):
    options = dict(data_dir=shared_data_dir, steps_per_epoch=2, batch_size=10)
    with pytest.raises(ValueError, match=r"`num_epochs`.*Received: num_epochs=1"):
        data.load_epochs("mnist", first_epoch=2, num_epochs=1, **options)
    with pytest.raises(ValueError, match=r"`first_epoch`.*Received: first_epoch=-1"):
        data.load_epochs("mnist", first_epoch=-1, num_epochs=1, **options)
    with pytest.raises(ValueError, match=r"`steps_per_epoch`.*Received: steps_per_epoch=0"):
        data.load_epochs("mnist", first_epoch=0, num_epochs=1,
                         **{**options, "steps_per_epoch": 0})
    with pytest.raises(ValueError, match=r"`batch_size`.*Received: batch_size=0"):
        data.load("mnist", "train", shared_data_dir, batch_size=0)


def test_missing_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data_dir .*missing.* does not exist"):
        data.load("mnist", data_dir=str(tmp_path / "missing"), download=False)


def test_dataset_not_prepared_fails_at_once_with_the_command(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r"'cifar10'.*not prepared.*prepare cifar10 --from DIR"):
        data.load("cifar10", data_dir=str(tmp_path), download=False)
    with pytest.raises(FileNotFoundError, match=r"'mnist'.*not prepared"):
        data.prepare("cluttered_mnist", str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_unknown_names_and_options(shared_data_dir):
    with pytest.raises(ValueError, match=r"`name`.*Received: name='svhn'"):
        data.load("svhn", data_dir=shared_data_dir)
    with pytest.raises(ValueError, match=r"`name`.*Received: name='svhn'"):
        data.prepare("svhn", shared_data_dir)
    with pytest.raises(ValueError, match=r"takes no generation options"):
        data.load("mnist", data_dir=shared_data_dir, image_size=64)
    # Only the CIFAR-10 archive has a checksum to skip.
    with pytest.raises(ValueError, match=r"`verify_checksum`.*Received: "
                                         r"verify_checksum=False with name='mnist'"):
        data.prepare("mnist", shared_data_dir, verify_checksum=False)
    with pytest.raises(ValueError, match=r"`verify_checksum`.*Received: "
                                         r"verify_checksum='no' with name='cifar10'"):
        data.prepare("cifar10", shared_data_dir, verify_checksum="no")
    with pytest.raises(ValueError, match=r"`label_key`.*Received: label_key='nuisance_label'"):
        data.load("mnist", data_dir=shared_data_dir, label_key="nuisance_label")
    with pytest.raises(ValueError, match=r"`binarization`.*Received: binarization='otsu'"):
        data.load("binarized_mnist", data_dir=shared_data_dir, binarization="otsu")
    with pytest.raises(ValueError, match=r"`num_distractors`.*Received: num_distractors=-1"):
        data.load("cluttered_mnist", data_dir=shared_data_dir, num_distractors=-1)
