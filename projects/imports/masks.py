"""The shapes an imported annotation can take, each turned into a compressed COCO RLE of
its image's size, or refused with a reason a person can read.

Nothing here trusts the file: an RLE's counts are decoded and checked (every run
non-negative, the runs adding up to the image) before pycocotools sees them, since its C
decoder writes as many pixels as the counts say; polygons are bounded in vertices and must
lie on the image; a PNG must be a PNG of the image's size before its pixels are decoded.
"""

import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from pycocotools import mask as mask_utils

from projects.encoding import mask_to_rle
from projects.exports.brush import BrushError, brush_decode

# One annotation's polygons together; more is refused as a hostile file.
MAX_VERTICES = 100_000
MAX_POLYGONS = 1_000
# How far (in pixels) outside the image a vertex may lie: float noise of normalized
# coordinates. It is moved onto the edge.
EDGE_TOLERANCE = 0.01
# A compressed RLE run is at most this many characters (pycocotools writes at most 7).
MAX_RUN_CHARS = 12


class InvalidShape(ValueError):
    """This annotation cannot be a mask of its image; the message says why."""


class EmptyMask(InvalidShape):
    """The shape covers no pixel of its image."""


def _size_text(height: int, width: int) -> str:
    return f"{width}x{height}"


def string_counts(counts: str) -> np.ndarray:
    """The run lengths of a COCO compressed RLE string (pycocotools' rleFrString, in numpy),
    or InvalidShape when the string is not one."""
    try:
        data = counts.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidShape("The RLE counts are not a COCO compressed RLE string.") from None
    chars = np.frombuffer(data, dtype=np.uint8).astype(np.int64) - 48
    if chars.size == 0:
        return np.zeros(0, dtype=np.int64)
    if chars.min() < 0 or chars.max() > 63:
        raise InvalidShape("The RLE counts hold characters a COCO RLE string cannot have.")
    more = (chars & 0x20) != 0
    if more[-1]:
        raise InvalidShape("The RLE counts string is cut off in the middle of a run.")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > MAX_RUN_CHARS:
        raise InvalidShape("The RLE counts hold a run too long to be a mask's.")
    position = np.arange(chars.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((chars & 0x1F) << (5 * position), starts)
    negative = (chars[ends] & 0x10) != 0
    values = np.where(negative, values | (np.int64(-1) << (5 * lengths)), values)
    # Runs from the third on are stored as the difference to the run two before.
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    return runs


def _checked_runs(runs: np.ndarray, height: int, width: int) -> None:
    if runs.size and runs.min() < 0:
        raise InvalidShape("The RLE has a negative run length.")
    total = int(runs.sum())
    if total != height * width:
        raise InvalidShape(
            f"The RLE covers {total} pixels, but the image ({_size_text(height, width)}) has "
            f"{height * width}."
        )


def _rle_size(rle: dict, height: int, width: int) -> None:
    size = rle.get("size")
    if (
        not isinstance(size, list | tuple)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        raise InvalidShape("The RLE has no [height, width] size.")
    if [int(size[0]), int(size[1])] != [height, width]:
        raise InvalidShape(
            f"The RLE is {_size_text(size[0], size[1])}, but the image is "
            f"{_size_text(height, width)}."
        )


def _runs_rle(runs: list[int], height: int, width: int) -> dict:
    coded = mask_utils.frPyObjects({"size": [height, width], "counts": runs}, height, width)
    return {"size": [height, width], "counts": coded["counts"].decode()}


def rle_shape(rle: object, height: int, width: int) -> dict:
    """A COCO RLE (compressed string or uncompressed list counts) of the image's size."""
    if not isinstance(rle, dict):
        raise InvalidShape("The RLE is not an object with size and counts.")
    _rle_size(rle, height, width)
    counts = rle.get("counts")
    if isinstance(counts, str):
        runs = string_counts(counts)
        _checked_runs(runs, height, width)
        if runs.size > 1 and not runs[1:].all():
            # Empty runs inside: written by another encoder; stored the way ours writes it.
            return _runs_rle(runs.tolist(), height, width)
        return {"size": [height, width], "counts": counts}
    if isinstance(counts, list):
        if len(counts) > height * width + 1:
            raise InvalidShape("The RLE has more runs than the image has pixels.")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
            raise InvalidShape("The RLE counts must be whole numbers.")
        array = np.asarray(counts, dtype=np.int64) if counts else np.zeros(0, np.int64)
        _checked_runs(array, height, width)
        return _runs_rle(counts, height, width)
    raise InvalidShape("The RLE counts are neither a string nor a list of numbers.")


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidShape("A polygon coordinate is not a number.")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidShape("A polygon coordinate is not a finite number.")
    return number


def _polygon_arrays(polygons: object) -> list[np.ndarray]:
    if not isinstance(polygons, list) or not polygons:
        raise InvalidShape("The segmentation is not a list of polygons.")
    if len(polygons) > MAX_POLYGONS:
        raise InvalidShape(f"The annotation has more than {MAX_POLYGONS} polygons.")
    arrays, vertices = [], 0
    for polygon in polygons:
        if not isinstance(polygon, list):
            raise InvalidShape("A polygon is not a list of coordinates.")
        vertices += len(polygon) // 2
        if vertices > MAX_VERTICES:
            raise InvalidShape(f"The annotation has more than {MAX_VERTICES} vertices.")
        if len(polygon) % 2 or len(polygon) < 6:
            raise InvalidShape("A polygon needs at least 3 points, each an x and a y.")
        arrays.append(np.array([_number(v) for v in polygon], dtype=np.float64))
    return arrays


def polygon_shape(
    polygons: object, height: int, width: int, *, scale: tuple[float, float] = (1.0, 1.0)
) -> dict:
    """Flat [x1, y1, x2, y2, ...] polygons in pixels along the pixel edges, as COCO's (or
    in other units, turned into pixels by `scale`: (width, height) for fractions of the
    image), rasterized by pycocotools as COCO readers do."""
    arrays = _polygon_arrays(polygons)
    factor = np.array(scale)
    scaled = []
    for array in arrays:
        points = array.reshape(-1, 2) * factor
        low = points.min(axis=0)
        high = points.max(axis=0)
        slack = EDGE_TOLERANCE
        if low.min() < -slack or high[0] > width + slack or high[1] > height + slack:
            raise InvalidShape(
                f"A polygon lies outside the image ({_size_text(height, width)}): x from "
                f"{low[0]:g} to {high[0]:g}, y from {low[1]:g} to {high[1]:g}."
            )
        points = np.clip(points, 0, [width, height])
        scaled.append(points.ravel().tolist())
    merged = mask_utils.merge(mask_utils.frPyObjects(scaled, height, width))
    return {"size": [height, width], "counts": merged["counts"].decode()}


def png_pixels(data: bytes, height: int, width: int) -> np.ndarray:
    """The pixels of a PNG of the image's size: 2-D (one value per pixel) or H x W x C."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            picture = PILImage.open(io.BytesIO(data), formats=["PNG"])
        except (OSError, ValueError, PILImage.DecompressionBombWarning) as error:
            raise InvalidShape(f"The file is not a PNG image ({error}).") from None
        if picture.size != (width, height):
            raise InvalidShape(
                f"The PNG is {_size_text(picture.height, picture.width)}, but the image is "
                f"{_size_text(height, width)}."
            )
        try:
            picture.load()
        except (OSError, ValueError, SyntaxError) as error:
            raise InvalidShape(f"The PNG cannot be decoded ({error}).") from None
    if picture.mode == "P":
        return np.asarray(picture)
    if picture.mode in ("1", "L", "I", "I;16"):
        return np.asarray(picture)
    return np.asarray(picture.convert("RGB"))


@dataclass(frozen=True)
class Shape:
    """One annotation's geometry, turned into a mask once its image's size is known."""

    kind: str  # rle, polygons, relative (fractions of the image), percent, png
    data: object
    # png: which pixels of the picture are the mask (default: every non-zero one).
    select: Callable[[np.ndarray], np.ndarray] | None = None

    def rle(self, height: int, width: int) -> dict:
        if self.kind == "rle":
            rle = rle_shape(self.data, height, width)
        elif self.kind == "polygons":
            rle = polygon_shape(self.data, height, width)
        elif self.kind == "relative":
            rle = polygon_shape(self.data, height, width, scale=(width, height))
        elif self.kind == "percent":
            rle = polygon_shape(self.data, height, width, scale=(width / 100, height / 100))
        elif self.kind == "png":
            rle = self._png(height, width)
        elif self.kind == "brush":
            try:
                rle = mask_to_rle(brush_decode(self.data, height, width))
            except BrushError as error:
                raise InvalidShape(str(error)) from None
        else:
            raise InvalidShape(f"Unknown shape {self.kind!r}.")
        if not int(mask_utils.area(_coded(rle))):
            raise EmptyMask("The mask is empty.")
        return rle

    def _png(self, height: int, width: int) -> dict:
        loader = self.data
        if not callable(loader):
            raise InvalidShape("No PNG to read.")
        pixels = png_pixels(loader(), height, width)
        if self.select is not None:
            return mask_to_rle(np.asarray(self.select(pixels), dtype=bool))
        if pixels.ndim == 3:
            return mask_to_rle(np.asarray(pixels.any(axis=2), dtype=bool))
        return mask_to_rle(np.asarray(pixels != 0, dtype=bool))


def _coded(rle: dict) -> dict:
    return {"size": rle["size"], "counts": rle["counts"].encode()}
