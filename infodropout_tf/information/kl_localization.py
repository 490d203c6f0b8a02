"""Where a layer spends its information: the KL mass inside a region (paper Fig. 2).

On Cluttered MNIST, Achille & Soatto show that with a larger beta the KL
(the information a unit transmits about the input) concentrates on the
digit and vanishes on the clutter. `kl_mass_inside_boxes` turns their
heatmaps into a number: the share of a KL map's mass that falls inside each
example's digit box.
"""

import numpy as np


def _cell_overlap(start, stop, num_cells, image_size):
    """(batch, num_cells): the part of each cell's extent inside [start, stop)."""
    edges = np.arange(num_cells + 1) * image_size / num_cells
    covered = (np.minimum(edges[1:], stop[:, None]) - np.maximum(edges[:-1], start[:, None]))
    return np.clip(covered, 0.0, None) / (image_size / num_cells)


def kl_mass_inside_boxes(kl_maps, boxes, image_size):
    """Fraction of each KL map's mass that lies inside a box of the image.

    Cell (i, j) of an h x w map covers the image square
    [i, i + 1) * image_size / h by [j, j + 1) * image_size / w (the map of a
    strided layer tiles the input); its KL counts as inside in proportion to
    the part of that square the box covers. A map spread evenly gives the
    box's share of the image area.

    Args:
        kl_maps: Non-negative array (batch, h, w), or (batch, h, w, channels)
            summed over channels: KL per position, e.g. from
            `InformationDropout(..., return_kl_map=True)`. The log-uniform
            prior's KL is defined only up to a constant per unit, so subtract
            each map's minimum first to make the fraction independent of it
            (as the paper's heatmaps do).
        boxes: Integer array (batch, 4) of `[top, left, bottom, right)` in
            image pixels (Cluttered MNIST's `digit_box`).
        image_size: Side of the square input image, in pixels.

    Returns:
        float64 array (batch,) in [0, 1].
    """
    kl_maps = np.asarray(kl_maps, dtype=np.float64)
    if kl_maps.ndim == 4:
        kl_maps = kl_maps.sum(axis=-1)
    boxes = np.asarray(boxes, dtype=np.float64)
    if kl_maps.ndim != 3 or boxes.shape != (len(kl_maps), 4):
        raise ValueError(
            "Expected kl_maps of shape (batch, h, w[, channels]) and boxes of shape "
            f"(batch, 4). Received: kl_maps.shape={kl_maps.shape}, boxes.shape={boxes.shape}"
        )
    if np.any(kl_maps < 0):
        raise ValueError("kl_maps must be non-negative; subtract each map's minimum first.")
    _, height, width = kl_maps.shape
    rows = _cell_overlap(boxes[:, 0], boxes[:, 2], height, image_size)
    columns = _cell_overlap(boxes[:, 1], boxes[:, 3], width, image_size)
    inside = np.einsum("bhw,bh,bw->b", kl_maps, rows, columns)
    total = kl_maps.sum(axis=(1, 2))
    return inside / np.where(total > 0, total, 1.0)
