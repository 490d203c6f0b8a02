"""MNIST prepared offline from its IDX archives is the official copy
(`infodropout_tf.data.offline_builders`)."""

import os

import numpy as np
import pytest

from infodropout_tf import data


@pytest.mark.slow
def test_prepare_from_idx_archives_matches_the_prepared_copy(tmp_path, shared_data_dir, as_numpy,
                                                             raw_mnist_dir):
    path = data.prepare("mnist", str(tmp_path / "tfds"), source_dir=str(raw_mnist_dir))
    assert path.endswith(os.path.join("mnist", "3.0.1"))
    for split in ("train", "test"):
        ours = as_numpy("mnist", split, str(tmp_path / "tfds"))
        reference = as_numpy("mnist", split, shared_data_dir)
        np.testing.assert_array_equal(ours["image"], reference["image"])
        np.testing.assert_array_equal(ours["label"], reference["label"])
