"""The `classic` backend: masks without SAM weights.

Prompts run OpenCV's GrabCut, seeded by the boxes (probable foreground inside, background
outside), by the region of similar colour around each positive click, by negative clicks
(background) and by a previous mask. Automask splits the image into Felzenszwalb regions
(scikit-image). Both return what the SAM2 engine returns, so the rest of the app does not
know which one ran. It is the default until a SAM2 checkpoint is present, and it is what
tests use to check real mask quality end to end.
"""

from typing import Any

import cv2
import numpy as np
from skimage.segmentation import felzenszwalb

MAX_SIDE = 640  # GrabCut runs on a copy no larger than this; masks are scaled back
FLOOD_TOLERANCE = 18  # Lab units around a click that still count as "the same colour"
CLICK_RADIUS = 3

AUTOMASK_DEFAULTS: dict[str, Any] = {
    "scale": 200.0,
    "sigma": 0.8,
    "min_mask_region_area": 64,
    "max_masks": 200,
}


def _points_in_pixels(prompt, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    if prompt.point_coords is None:
        return np.zeros((0, 2), np.float32), np.zeros((0,), np.int32)
    points = np.asarray(prompt.point_coords, np.float32).reshape(-1, 2).copy()
    if not prompt.normalize_coords:
        points *= (width, height)
    return points, np.asarray(prompt.point_labels, np.int32).reshape(-1)


def _boxes_in_pixels(prompt, width: int, height: int) -> list[np.ndarray]:
    if prompt.box is None:
        return []
    boxes = np.asarray(prompt.box, np.float32).reshape(-1, 4).copy()
    if not prompt.normalize_coords:
        boxes *= (width, height, width, height)
    return list(boxes)


def _flood(lab: np.ndarray, x: int, y: int) -> np.ndarray:
    """The connected region of colours close to the clicked pixel."""
    height, width = lab.shape[:2]
    region = np.zeros((height + 2, width + 2), np.uint8)
    tolerance = (FLOOD_TOLERANCE,) * 3
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (255 << 8)
    cv2.floodFill(lab.copy(), region, (x, y), 0, tolerance, tolerance, flags)
    return region[1:-1, 1:-1] > 0


def _seed(shape, box, points, labels, lab, previous) -> np.ndarray:
    height, width = shape
    seed = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    if box is not None:
        x1, y1, x2, y2 = np.clip(np.round(box), 0, [width, height, width, height]).astype(int)
        seed[:] = cv2.GC_BGD
        seed[y1:y2, x1:x2] = cv2.GC_PR_FGD
    if previous is not None:
        seed[previous & (seed != cv2.GC_BGD)] = cv2.GC_PR_FGD
    for (x, y), label in zip(points, labels, strict=True):
        cx, cy = int(np.clip(x, 0, width - 1)), int(np.clip(y, 0, height - 1))
        if label == 1:
            seed[_flood(lab, cx, cy) & (seed != cv2.GC_BGD)] = cv2.GC_PR_FGD
    for (x, y), label in zip(points, labels, strict=True):
        cx, cy = int(np.clip(x, 0, width - 1)), int(np.clip(y, 0, height - 1))
        value = cv2.GC_FGD if label == 1 else cv2.GC_BGD
        cv2.circle(seed, (cx, cy), CLICK_RADIUS, int(value), -1)
    return seed


def _region_of_interest(foreground: np.ndarray) -> tuple[slice, slice] | None:
    """The candidate object with a margin of background around it, when that is clearly
    smaller than the image: GrabCut's cost grows with the pixels it models."""
    ys, xs = np.nonzero(foreground)
    if len(xs) == 0:
        return None
    height, width = foreground.shape
    margin_x = max(20, (xs.max() - xs.min()) // 2)
    margin_y = max(20, (ys.max() - ys.min()) // 2)
    x0, x1 = max(0, xs.min() - margin_x), min(width, xs.max() + margin_x + 1)
    y0, y1 = max(0, ys.min() - margin_y), min(height, ys.max() + margin_y + 1)
    if (x1 - x0) * (y1 - y0) > 0.6 * width * height:
        return None
    return slice(y0, y1), slice(x0, x1)


def _grabcut(bgr: np.ndarray, seed: np.ndarray) -> np.ndarray:
    region = _region_of_interest(np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD)))
    if region is None:
        return _grabcut_all(bgr, seed)
    mask = np.zeros(seed.shape, bool)
    mask[region] = _grabcut_all(np.ascontiguousarray(bgr[region]), seed[region].copy())
    return mask


def _grabcut_all(bgr: np.ndarray, seed: np.ndarray) -> np.ndarray:
    foreground = np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD))
    background = ~foreground
    if foreground.sum() < 2 or background.sum() < 2:
        return foreground
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    mask = seed.copy()
    try:
        no_rect: Any = None  # the seed mask, not a rectangle, starts the colour models
        cv2.grabCut(
            bgr, mask, no_rect, background_model, foreground_model, 4, cv2.GC_INIT_WITH_MASK
        )
    except cv2.error:
        # Too few distinct colours for the colour models: the seed is the best answer.
        return foreground
    return np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))


def _keep_clicked_parts(mask: np.ndarray, points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    positive = [(int(y), int(x)) for (x, y), label in zip(points, labels, strict=True) if label]
    if not positive or not mask.any():
        return mask
    count, components = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    height, width = mask.shape
    keep = {
        components[min(y, height - 1), min(x, width - 1)]
        for y, x in positive
        if components[min(y, height - 1), min(x, width - 1)]
    }
    return np.isin(components, list(keep)) if keep else mask


def _score(lab: np.ndarray, mask: np.ndarray) -> float:
    """How different the mask's colour is from its surroundings, 0..1."""
    if not mask.any() or mask.all():
        return 0.0
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~mask
    if not ring.any():
        return 0.0
    inside = lab[mask].astype(np.float32).mean(axis=0)
    outside = lab[ring].astype(np.float32).mean(axis=0)
    return min(1.0, float(np.linalg.norm(inside - outside)) / 100.0)


def _scaled(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    height, width = rgb.shape[:2]
    factor = min(1.0, MAX_SIDE / max(height, width))
    if factor == 1.0:
        return rgb, 1.0
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), factor


def _logits(mask: np.ndarray, size: int) -> np.ndarray:
    small = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return ((small - 0.5) * 16.0).astype(np.float32)


def predict(
    rgb: np.ndarray, prompt, *, logits_size: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One mask per box (or one for the clicks), with scores and low-res logits."""
    height, width = rgb.shape[:2]
    points, labels = _points_in_pixels(prompt, width, height)
    boxes: list[np.ndarray | None] = [*_boxes_in_pixels(prompt, width, height)] or [None]
    small, factor = _scaled(rgb)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_RGB2LAB)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    previous = None
    if prompt.mask_input is not None:
        logits = np.asarray(prompt.mask_input, np.float32).reshape(prompt.mask_input.shape[-2:])
        previous = cv2.resize(logits, small.shape[1::-1], interpolation=cv2.INTER_LINEAR) > 0
    masks, scores = [], []
    for box in boxes:
        scaled_box = None if box is None else box * factor
        seed = _seed(lab.shape[:2], scaled_box, points * factor, labels, lab, previous)
        mask = _keep_clicked_parts(_grabcut(bgr, seed), points * factor, labels)
        scores.append(_score(lab, mask))
        if factor != 1.0:
            small_mask = mask.astype(np.uint8)
            mask = cv2.resize(small_mask, (width, height), interpolation=cv2.INTER_NEAREST) > 0
        masks.append(mask)
    stacked = np.stack(masks)
    return (
        stacked,
        np.asarray(scores, np.float32),
        np.stack([_logits(m, logits_size) for m in stacked]),
    )


def automask(rgb: np.ndarray, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Regions of similar colour, largest first, in the automatic mask generator's format."""
    options = {**AUTOMASK_DEFAULTS, **{k: v for k, v in params.items() if k in AUTOMASK_DEFAULTS}}
    height, width = rgb.shape[:2]
    segments = felzenszwalb(
        rgb, scale=float(options["scale"]), sigma=float(options["sigma"]), min_size=20
    )
    labels, areas = np.unique(segments, return_counts=True)
    order = np.argsort(-areas, kind="stable")
    results = []
    for index in order[: int(options["max_masks"])]:
        area = int(areas[index])
        if area < int(options["min_mask_region_area"]):
            continue
        mask = segments == labels[index]
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
        centre = (int(xs[len(xs) // 2]), int(ys[len(ys) // 2]))
        results.append(
            {
                "segmentation": mask,
                "area": area,
                "bbox": [x0, y0, x1 - x0 + 1, y1 - y0 + 1],
                "predicted_iou": 1.0,
                "stability_score": 1.0,
                "point_coords": [list(centre)],
                "crop_box": [0, 0, width, height],
            }
        )
    return results
