"""Label Studio's JSON: one task per image, whose annotation holds one `brushlabels` region
per mask, and the labelling config that names the classes, as Label Studio imports them."""

from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import numpy as np

from projects.exports.brush import brush_encode

FROM_NAME = "tag"  # the BrushLabels tag of the config
TO_NAME = "image"  # the Image tag of the config
LOCAL_FILES = "/data/local-files/?d="


def studio_region(
    *, region_id: str, pixels: np.ndarray, label: str, score: float | None = None
) -> dict:
    """One brush region: the mask as Label Studio's brush RLE over the whole image."""
    height, width = pixels.shape
    region: dict = {
        "id": region_id,
        "type": "brushlabels",
        "from_name": FROM_NAME,
        "to_name": TO_NAME,
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "origin": "manual",
        "value": {"format": "rle", "rle": brush_encode(pixels), "brushlabels": [label]},
    }
    if score is not None:
        region["score"] = score
    return region


def studio_task(*, name: str, regions: list[dict]) -> dict:
    """A task whose image is a local file of Label Studio's storage, at `name` below its
    document root; an image without masks is a task still to label."""
    annotations = [{"result": regions, "was_cancelled": False, "ground_truth": False}]
    return {
        "data": {"image": LOCAL_FILES + quote(name, safe="/")},
        "annotations": annotations if regions else [],
        "predictions": [],
    }


def studio_config(classes: list[tuple[str, str]]) -> str:
    """The labelling config: an image and one brush label per (name, #rrggbb) class."""
    labels = "".join(
        f"    <Label value={quoteattr(name)} background={quoteattr(color)}/>\n"
        for name, color in classes
    )
    return (
        "<View>\n"
        f'  <Image name="{TO_NAME}" value="$image"/>\n'
        f'  <BrushLabels name="{FROM_NAME}" toName="{TO_NAME}">\n'
        f"{labels}"
        "  </BrushLabels>\n"
        "</View>\n"
    )
