"""The mask forms: uncompressed RLE and polygons give back every pixel."""

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from projects.encoding import mask_to_rle
from projects.exports.masks import coco_segmentation, mask_polygons, uncompressed_counts


def random_shapes(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        height, width = (int(v) for v in rng.integers(3, 60, 2))
        if rng.random() < 0.5:
            mask = (rng.random((height, width)) < rng.random() * 0.6).astype(np.uint8)
        else:
            mask = np.zeros((height, width), dtype=np.uint8)
            for _ in range(int(rng.integers(1, 4))):
                center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
                axes = (int(rng.integers(1, width)), int(rng.integers(1, height)))
                cv2.ellipse(mask, center, axes, float(rng.integers(0, 180)), 0, 360, 1, -1)
        yield mask.astype(bool)


def rasterize(segmentation, height: int, width: int) -> np.ndarray:
    if isinstance(segmentation, dict) and isinstance(segmentation["counts"], str):
        compressed = {**segmentation, "counts": segmentation["counts"].encode()}
        return mask_utils.decode(compressed).astype(bool)
    rles = mask_utils.frPyObjects(segmentation, height, width)
    rle = mask_utils.merge(rles) if isinstance(rles, list) else rles
    return mask_utils.decode(rle).astype(bool)


def test_uncompressed_counts_round_trip_through_pycocotools():
    for mask in random_shapes(1, 200):
        height, width = mask.shape
        rle = {"size": [height, width], "counts": uncompressed_counts(mask)}
        assert np.array_equal(rasterize(rle, height, width), mask)


def test_uncompressed_counts_start_with_zeros_even_when_the_first_pixel_is_set():
    mask = np.ones((2, 2), dtype=bool)
    assert uncompressed_counts(mask) == [0, 4]


def test_polygons_rasterize_back_exactly_for_shapes_without_holes():
    checked = 0
    for mask in random_shapes(2, 400):
        polygons = mask_polygons(mask)
        if not polygons:
            continue  # a hole (or nothing): written as RLE instead
        assert all(len(polygon) >= 6 for polygon in polygons)
        assert np.array_equal(rasterize(polygons, *mask.shape), mask)
        checked += 1
    assert checked > 200


def test_a_mask_with_a_hole_is_not_turned_into_polygons():
    mask = np.zeros((20, 20), dtype=bool)
    mask[2:18, 2:18] = True
    mask[8:10, 8:10] = False
    assert mask_polygons(mask) is None
    segmentation = coco_segmentation(mask_to_rle(mask), "polygons")
    assert isinstance(segmentation, dict)
    assert np.array_equal(rasterize(segmentation, 20, 20), mask)


@pytest.mark.parametrize("pixels", [[(0, 0)], [(0, 0), (1, 1)], [(5, 5), (5, 7)]])
def test_single_pixels_and_diagonal_touches_stay_exact(pixels):
    mask = np.zeros((10, 10), dtype=bool)
    for y, x in pixels:
        mask[y, x] = True
    polygons = mask_polygons(mask)
    assert np.array_equal(rasterize(polygons, 10, 10), mask)
