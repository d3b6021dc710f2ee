"""Array encodings for records: COCO RLE for masks, JSON for small arrays, files for the rest.

Logits are raw .npy files (zlib shrinks float logits by only ~7% and costs a click ~20 ms);
mask inputs are compressed .npz. Nothing here pickles: files are read with allow_pickle=False.
"""

import io
import os
import uuid
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings
from pycocotools import mask as mask_utils

ARRAY_DIR = "arrays"


def mask_to_rle(mask: np.ndarray) -> dict:
    """A 2-D boolean (or 0/1) mask as a COCO compressed RLE with a str `counts`."""
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {mask.shape}")
    pixels = mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8, copy=False)
    # pycocotools reads column-major: OpenCV's transpose makes that copy ~10x faster than
    # np.asfortranarray, which matters on the click path.
    if pixels.size:
        rle = mask_utils.encode(cv2.transpose(np.ascontiguousarray(pixels)).T)
    else:
        rle = mask_utils.encode(np.asfortranarray(pixels))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode()}


def rle_to_mask(rle: dict) -> np.ndarray:
    """The boolean mask of a COCO compressed RLE (as written by mask_to_rle)."""
    counts = rle["counts"]
    coded = {
        "size": list(rle["size"]),
        "counts": counts.encode() if isinstance(counts, str) else counts,
    }
    return mask_utils.decode(coded).astype(bool)


def rle_area(rle: dict) -> int:
    return int(mask_utils.area(_coded(rle)))


def rle_bbox(rle: dict) -> list[float]:
    """[x, y, width, height] of the mask, COCO order."""
    return [float(v) for v in mask_utils.toBbox(_coded(rle))]


def _coded(rle: dict) -> dict:
    counts = rle["counts"]
    return {
        "size": list(rle["size"]),
        "counts": counts.encode() if isinstance(counts, str) else counts,
    }


def array_to_json(array: np.ndarray | None) -> list | None:
    """A small array (points, boxes, scores) as nested lists of Python numbers."""
    if array is None:
        return None
    return np.asarray(array).tolist()


def json_to_array(value: list | None, dtype=np.float32) -> np.ndarray | None:
    if value is None:
        return None
    return np.asarray(value, dtype=dtype)


def npz_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, array=_plain(array))
    return buffer.getvalue()


def _plain(array: np.ndarray) -> np.ndarray:
    if array.dtype.hasobject:
        raise ValueError("arrays of Python objects are not stored")
    return np.ascontiguousarray(array)


def array_load(data: bytes | Path) -> np.ndarray:
    """An array written by this module: a .npy file, or a .npz archive of one "array"."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    loaded = np.load(source, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded as archive:
        if list(archive.files) != ["array"]:
            raise ValueError("not an array file written by this application")
        return archive["array"]


def array_save(array: np.ndarray, *, project_id: int, compressed: bool = True) -> str:
    """Write `array` under media, as a compressed .npz or a raw .npy; returns its path
    relative to media.

    A record names the file only after this returns, and a failed write removes what it
    wrote, so no record points at a half file without a temporary name and a rename (which
    every click would pay for).
    """
    relative = f"{ARRAY_DIR}/{project_id}/{uuid.uuid4().hex}.{'npz' if compressed else 'npy'}"
    target = os.path.join(settings.MEDIA_ROOT, relative)
    try:
        file = open(target, "xb")
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        file = open(target, "xb")
    try:
        with file:
            if compressed:
                np.savez_compressed(file, array=_plain(array))
            else:
                np.save(file, _plain(array), allow_pickle=False)
    except BaseException:
        os.unlink(target)
        raise
    return relative


def array_open(relative: str) -> np.ndarray:
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root / ARRAY_DIR):
        raise ValueError(f"array path {relative!r} is outside the array store")
    return array_load(path)


def array_delete(relative: str) -> None:
    if relative:
        (Path(settings.MEDIA_ROOT) / relative).unlink(missing_ok=True)
