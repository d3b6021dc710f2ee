"""The mask forms an export can write: compressed RLE, uncompressed RLE and polygons.

Polygons come from OpenCV's findContours with RETR_CCOMP, which tells outer contours from
holes. A COCO polygon list cannot express a hole (pycocotools fills every ring and merges
them), so a mask with a hole is written as compressed RLE instead: exact, and readable by
the same COCO tools. Every other mask becomes one polygon per connected part,
traced along the pixel edges, so pycocotools rasterizes it back to exactly the stored pixels.
"""

import cv2
import numpy as np

from projects.encoding import rle_to_mask

MASK_FORMS = ("coco_rle", "uncompressed_rle", "polygons")


def uncompressed_counts(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE counts: run lengths over the column-major pixels, zeros first."""
    flat = mask.ravel(order="F").astype(bool, copy=False)
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    counts = np.diff(bounds)
    if flat[0]:
        counts = np.concatenate(([0], counts))
    return counts.tolist()


def uncompressed_rle(rle: dict) -> dict:
    return {"size": list(rle["size"]), "counts": uncompressed_counts(rle_to_mask(rle))}


def mask_polygons(mask: np.ndarray) -> list[list[float]] | None:
    """One flat [x1, y1, x2, y2, ...] polygon per connected part along the pixel edges, or
    None when the mask has a hole."""
    # Contours of the mask doubled in size run through the centres of half pixels; rounding
    # them up lands on the edges of the original pixels, where pycocotools' rasterization
    # (pixel x is inside when left <= x < right) gives back exactly the stored pixels.
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return []
    columns = np.flatnonzero(mask.any(axis=0))
    # Only the mask's bounding box (with a one-pixel frame) is traced: the cost follows the
    # object's size, not the image's.
    top, left = int(rows[0]), int(columns[0])
    crop = np.pad(mask[top : rows[-1] + 1, left : columns[-1] + 1], 1).astype(np.uint8)
    doubled = crop.repeat(2, axis=0).repeat(2, axis=1)
    contours, hierarchy = cv2.findContours(doubled, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    offset = np.array([left - 1, top - 1])
    polygons = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True):
        if parent != -1:
            return None  # a hole: COCO polygons cannot carve it out
        points = (contour.reshape(-1, 2) + 1) // 2 + offset
        distinct = np.ones(len(points), dtype=bool)
        distinct[1:] = np.any(points[1:] != points[:-1], axis=1)
        points = points[distinct]
        if len(points) > 1 and (points[0] == points[-1]).all():
            points = points[:-1]
        if len(points) < 3:
            return None
        polygons.append(points.astype(float).ravel().tolist())
    return polygons


def coco_segmentation(rle: dict, form: str) -> dict | list:
    """The COCO `segmentation` of a stored mask in the chosen form."""
    if form == "coco_rle":
        return {"size": list(rle["size"]), "counts": rle["counts"]}
    if form == "uncompressed_rle":
        return uncompressed_rle(rle)
    if form == "polygons":
        polygons = mask_polygons(rle_to_mask(rle))
        if polygons:
            return polygons
        return {"size": list(rle["size"]), "counts": rle["counts"]}
    raise ValueError(f"unknown mask form {form!r}")
