"""Label Studio's brush RLE: ours read back by Label Studio's own decoder, theirs by ours,
and hostile RLE refused with a reason."""

import numpy as np
import pytest
from label_studio_converter import brush as studio

from projects.exports.brush import BrushError, brush_decode, brush_encode, cvat_rle


def masks():
    rng = np.random.default_rng(0)
    for height, width in [(1, 1), (3, 5), (40, 50)]:
        for density in (0.0, 0.02, 0.5, 1.0):
            yield rng.random((height, width)) < density
    whole = np.ones((300, 300), dtype=bool)  # one run longer than the widest count field
    yield whole


@pytest.mark.parametrize("mask", list(masks()))
def test_label_studio_decodes_our_brush_rle_pixel_for_pixel(mask):
    height, width = mask.shape
    pixels = studio.decode_rle(brush_encode(mask)).reshape(height, width, 4)
    assert np.array_equal(pixels[:, :, 3] > 0, mask)


@pytest.mark.parametrize("mask", list(masks()))
def test_we_decode_label_studios_brush_rle_pixel_for_pixel(mask):
    height, width = mask.shape
    theirs = studio.mask2rle((mask * 255).astype(np.uint8))
    assert np.array_equal(brush_decode(theirs, height, width), mask)


def test_an_rle_of_another_size_is_refused_before_decoding():
    rle = brush_encode(np.ones((10, 10), dtype=bool))
    with pytest.raises(BrushError, match="holds 400 values"):
        brush_decode(rle, 10000, 10000)


@pytest.mark.parametrize("rle", [[], [300, 1], [True], [0, 0, 1, 144, 7]])
def test_malformed_brush_rle_is_refused(rle):
    with pytest.raises(BrushError):
        brush_decode(rle, 2, 2)


def test_cvat_runs_cover_the_box_row_by_row_from_background():
    mask = np.array([[0, 0, 0], [0, 1, 1], [0, 1, 0]], dtype=bool)
    assert cvat_rle(mask) == ([0, 3, 1], (1, 1, 2, 2))
    assert cvat_rle(np.zeros((2, 2), dtype=bool)) is None
