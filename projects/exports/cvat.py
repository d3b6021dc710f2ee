"""CVAT for images 1.1: annotations.xml with the labels in its meta and one `<mask>` per
object, in CVAT's own RLE over the mask's bounding box (projects.exports.brush.cvat_rle), as
CVAT's dumper writes them (cvat/apps/dataset_manager/formats/cvat.py)."""

import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from projects.encoding import rle_to_mask
from projects.exports.brush import cvat_rle
from projects.exports.selectors import ExportImage
from projects.exports.writing import (
    Categories,
    ExportOptions,
    Progress,
    checked_rle,
    export_counts,
    paint_order,
    readable_images,
    xml_safe,
)
from projects.models import Project

VERSION = "1.1"
# Where each kind of record came from, in CVAT's words for a shape's source.
SOURCES = {"object": "manual", "prediction": "semi-auto", "automask": "auto"}


def cvat_mask(*, pixels: np.ndarray, label: str, record: str, z_order: int) -> ET.Element | None:
    """A `<mask>` with its box and run lengths; None for an empty mask, which has no box."""
    encoded = cvat_rle(pixels)
    if encoded is None:
        return None
    runs, (left, top, width, height) = encoded
    return ET.Element(
        "mask",
        {
            "label": label,
            "source": SOURCES.get(record, "manual"),
            "occluded": "0",
            "rle": ", ".join(map(str, runs)),
            "left": str(left),
            "top": str(top),
            "width": str(width),
            "height": str(height),
            "z_order": str(z_order),
        },
    )


def cvat_image(*, frame: int, name: str, height: int, width: int) -> ET.Element:
    attributes = {"id": str(frame), "name": name, "width": str(width), "height": str(height)}
    return ET.Element("image", attributes)


def cvat_document(
    *, task: str, task_id: int, classes: list[tuple[str, str]], images: list[ET.Element]
) -> bytes:
    """annotations.xml: the version, the meta (a task of `images`, the labels as
    (name, #rrggbb), each of type mask), then the images with their masks."""
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = VERSION
    meta = ET.SubElement(root, "meta")
    about = ET.SubElement(meta, "task")
    for key, value in [
        ("id", str(task_id)),
        ("name", task),
        ("size", str(len(images))),
        ("mode", "annotation"),
    ]:
        ET.SubElement(about, key).text = value
    labels = ET.SubElement(about, "labels")
    for name, color in classes:
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "color").text = color
        ET.SubElement(label, "type").text = "mask"
        ET.SubElement(label, "attributes")
    ET.SubElement(meta, "dumped").text = datetime.now(UTC).isoformat()
    root.extend(images)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_cvat(
    images: Iterable[ExportImage],
    *,
    project: Project,
    options: ExportOptions,
    categories: Categories,
    target: Path,
    progress: Progress,
) -> dict:
    """annotations.xml in CVAT for images 1.1: every label (type mask), one `<image>` per image
    with one `<mask>` per mask, the larger ones below (z_order) as the PNG formats paint them.
    An empty mask has no box in CVAT and is left out."""
    pictures: list = []
    total = 0
    unlabeled = False
    skipped: list[dict] = []
    for export in readable_images(images, progress, skipped):
        height, width = export.size
        picture = cvat_image(
            frame=len(pictures), name=xml_safe(export.file_name), height=height, width=width
        )
        for z_order, mask in enumerate(paint_order(export.masks)):
            element = cvat_mask(
                pixels=rle_to_mask(checked_rle(export, mask)),
                label=xml_safe(categories.name_of(mask.label_id)),
                record=mask.record,
                z_order=z_order,
            )
            if element is not None:
                picture.append(element)
                total += 1
                unlabeled |= categories.of(mask.label_id) == categories.of(None)
        pictures.append(picture)
    document = cvat_document(
        task=xml_safe(project.name),
        task_id=project.pk,
        classes=[(xml_safe(n), c) for n, c in categories.named_colors(unlabeled=unlabeled)],
        images=pictures,
    )
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("annotations.xml", document)
    return export_counts(len(pictures), total, skipped)
