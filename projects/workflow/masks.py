"""Masks sent by clients: validated against the image before anything is stored."""

import numpy as np
from django.core.exceptions import ValidationError
from pycocotools import mask as mask_utils

from projects.encoding import mask_to_rle, rle_to_mask
from projects.models import Image


def mask_from_client(value, *, image: Image, field: str = "mask") -> np.ndarray:
    """A boolean mask from a COCO RLE dict, compressed (`counts` a string) or uncompressed
    (`counts` a list of run lengths, column-major, starting with a run of zeros)."""
    if image.width is None or image.height is None:
        raise ValidationError({field: "Open the image first: its size is not known yet."})
    if not isinstance(value, dict) or set(value) != {"size", "counts"}:
        raise ValidationError(
            {field: 'A mask is an RLE object: {"size": [height, width], "counts": ...}.'}
        )
    size = value["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
        raise ValidationError({field: "size must be [height, width] in pixels."})
    if size != [image.height, image.width]:
        shown = f"{size[1]}x{size[0]}"
        raise ValidationError(
            {field: f"The mask is {shown} but the image is {image.width}x{image.height}."}
        )
    counts = value["counts"]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and c >= 0 for c in counts):
            raise ValidationError({field: "Uncompressed counts must be non-negative integers."})
        if sum(counts) != size[0] * size[1]:
            raise ValidationError({field: "The run lengths do not add up to height x width."})
        compressed = mask_utils.frPyObjects({"size": size, "counts": counts}, *size)
        return mask_utils.decode(compressed).astype(bool)
    if not isinstance(counts, str):
        raise ValidationError({field: "counts must be a string (compressed) or a list."})
    try:
        mask = rle_to_mask({"size": size, "counts": counts})
    except Exception:
        raise ValidationError({field: "The compressed RLE cannot be decoded."}) from None
    return mask


def polygon_mask(points, *, image: Image, field: str = "points") -> np.ndarray:
    """The filled polygon through `points` ([[x, y], ...] image pixels) as a mask."""
    import cv2

    if image.width is None or image.height is None:
        raise ValidationError({field: "Open the image first: its size is not known yet."})
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError({field: "Points must be [[x, y], ...] numbers."}) from None
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 3:
        raise ValidationError({field: "A polygon needs at least three [x, y] points."})
    if not np.isfinite(array).all():
        raise ValidationError({field: "Points must be finite numbers."})
    mask = np.zeros((image.height, image.width), dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(array).astype(np.int32)], 1)
    return mask.astype(bool)


__all__ = ["mask_from_client", "mask_to_rle", "polygon_mask"]
