"""Label Studio's JSON: one task per image, whose annotation holds one `brushlabels` region
per mask, and the labelling config that names the classes, as Label Studio imports them."""

import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import numpy as np

from projects.encoding import rle_to_mask
from projects.exports.brush import brush_encode
from projects.exports.selectors import ExportImage, ExportMask
from projects.exports.writing import (
    Categories,
    ExportOptions,
    Progress,
    checked_rle,
    export_counts,
    readable_images,
    xml_safe,
)
from projects.models import Project

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


def _region_id(mask: ExportMask) -> str:
    suffix = "" if mask.index is None else f"-{mask.index}"
    return f"{mask.record}-{mask.record_id}{suffix}"


def write_label_studio(
    images: Iterable[ExportImage],
    *,
    project: Project,
    options: ExportOptions,
    categories: Categories,
    target: Path,
    progress: Progress,
) -> dict:
    """tasks.json, a list of Label Studio tasks (one per image, its masks as brush regions of
    one annotation), and label_config.xml, the labelling config naming the classes."""
    count = total = 0
    unlabeled = False
    skipped: list[dict] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("tasks.json", "w") as member, io.TextIOWrapper(member, "utf-8") as out:
            out.write("[")
            for export in readable_images(images, progress, skipped):
                regions = [
                    studio_region(
                        region_id=_region_id(mask),
                        pixels=rle_to_mask(checked_rle(export, mask)),
                        # The config is XML: a name it cannot hold is written alike in both.
                        label=xml_safe(categories.name_of(mask.label_id)),
                        score=mask.score,
                    )
                    for mask in export.masks
                ]
                unlabeled |= any(
                    categories.of(m.label_id) == categories.of(None) for m in export.masks
                )
                out.write("," if count else "")
                json.dump(
                    studio_task(name=export.file_name, regions=regions), out, separators=(",", ":")
                )
                count += 1
                total += len(regions)
            out.write("]")
        classes = [(xml_safe(n), c) for n, c in categories.named_colors(unlabeled=unlabeled)]
        archive.writestr("label_config.xml", studio_config(classes))
    return export_counts(count, total, skipped)
