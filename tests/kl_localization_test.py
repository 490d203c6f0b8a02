"""The share of a KL map inside bounding boxes (`infodropout_tf.information.kl_localization`)."""

import numpy as np
import pytest

from infodropout_tf import information


def test_kl_mass_inside_boxes_weighs_cells_by_their_overlap_with_the_box():
    # A 4x4 map of a 96x96 image: cell (1, 2) covers rows [24, 48), columns [48, 72).
    kl = np.zeros((3, 4, 4))
    kl[:, 1, 2] = 5.0
    boxes = np.array([[24, 48, 48, 72],   # exactly the cell
                      [30, 48, 42, 60],   # rows 12/24 of it, columns 12/24
                      [0, 0, 24, 96]])    # the row of cells above it
    np.testing.assert_allclose(information.kl_mass_inside_boxes(kl, boxes, 96), [1.0, 0.25, 0.0])


def test_kl_mass_inside_boxes_of_an_even_map_is_the_box_area_share():
    rng = np.random.default_rng(0)
    tops, lefts = rng.integers(0, 60, size=(2, 5))
    boxes = np.stack([tops, lefts, tops + rng.integers(1, 36, 5), lefts + rng.integers(1, 36, 5)], 1)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / 96**2
    even = np.ones((5, 12, 12, 3))  # channels are summed first
    np.testing.assert_allclose(information.kl_mass_inside_boxes(even, boxes, 96), area, rtol=1e-12)


def test_kl_mass_inside_boxes_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"non-negative"):
        information.kl_mass_inside_boxes(-np.ones((1, 2, 2)), [[0, 0, 1, 1]], 2)
    with pytest.raises(ValueError, match=r"boxes of shape \(batch, 4\)"):
        information.kl_mass_inside_boxes(np.ones((2, 2, 2)), [[0, 0, 1, 1]], 2)
