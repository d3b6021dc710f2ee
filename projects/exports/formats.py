"""Writers for each export format. Each streams images in and writes one file at `target`.

Formats: COCO instance segmentation JSON, binary PNG masks in a zip, the seed's JSON schema
(inputs and outputs per image), CSV with one row per mask, Pascal VOC segmentation PNGs,
Ultralytics YOLO-seg label files, Label Studio JSON with brush masks, and CVAT for images 1.1
XML with CVAT's mask RLE.
"""

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml
from PIL import Image as PILImage

from inference.prompts import RECORD_COLUMNS, RECORD_INPUTS
from projects.encoding import array_open, rle_area, rle_bbox, rle_to_mask
from projects.exports.cvat import write_cvat
from projects.exports.label_studio import write_label_studio
from projects.exports.masks import (
    coco_segmentation,
    mask_polygons,
    uncompressed_counts,
    uncompressed_rle,
)
from projects.exports.selectors import ExportImage, ExportMask
from projects.exports.writing import (
    UNLABELED,
    Categories,
    ExportOptions,
    Progress,
    Stems,
    checked_rle,
    export_counts,
    paint_order,
    readable_images,
)
from projects.models import Project
from projects.selectors import image_source_path

FORMATS = ("coco", "binary_mask", "seed_json", "csv", "voc", "yolo_seg", "label_studio", "cvat")
# The project archive can also be made as an export job, for projects too large to wait for.
ARCHIVE = "archive"
EXPORT_FORMATS = (*FORMATS, ARCHIVE)
# Where each format can put a mask form: CSV and the seed's JSON hold RLE only (a polygon
# would not be a mask there); the PNG formats, Label Studio (brush RLE) and CVAT (its own
# RLE) ignore it.
MASK_FORMS_FOR = {
    "coco": ("coco_rle", "uncompressed_rle", "polygons"),
    "seed_json": ("coco_rle", "uncompressed_rle"),
    "csv": ("coco_rle", "uncompressed_rle"),
    "binary_mask": ("coco_rle", "uncompressed_rle", "polygons"),
    "voc": ("coco_rle", "uncompressed_rle", "polygons"),
    "yolo_seg": ("coco_rle", "uncompressed_rle", "polygons"),
    "label_studio": ("coco_rle", "uncompressed_rle", "polygons"),
    "cvat": ("coco_rle", "uncompressed_rle", "polygons"),
}
# Where polygon vertices lie: on the pixel edges (pycocotools rasterizes them back exactly)
# or on the pixel centres (OpenCV's fillPoly, as supervision uses, does).
POLYGON_CONVENTIONS = ("edges", "centres")
EXTENSION = {
    "coco": "json",
    "binary_mask": "zip",
    "seed_json": "json",
    "csv": "csv",
    "voc": "zip",
    "yolo_seg": "zip",
    "label_studio": "zip",
    "cvat": "zip",
    ARCHIVE: "zip",
}
CONTENT_TYPE = {"json": "application/json", "zip": "application/zip", "csv": "text/csv"}
SEED_SOURCE = {"upload": "client", "folder": "server", "azure_blob": "blob", "url": "url"}


def _record_attributes(mask: ExportMask) -> dict:
    attributes = {"record": mask.record, "record_id": mask.record_id}
    if mask.name:
        attributes["name"] = mask.name
    if mask.index is not None:
        attributes["output_index"] = mask.index
    return attributes


# COCO -------------------------------------------------------------------------------------


def write_coco(
    images: Iterable[ExportImage],
    *,
    project: Project,
    options: ExportOptions,
    categories: Categories,
    target: Path,
    progress: Progress,
) -> dict:
    coco_images: list[dict] = []
    annotations: list[dict] = []
    skipped: list[dict] = []
    for export in readable_images(images, progress, skipped):
        height, width = export.size
        coco_images.append(
            {
                "id": export.image.pk,
                "file_name": export.file_name,
                "width": width,
                "height": height,
                "source": export.image.source.name,
                "key": export.image.key,
            }
        )
        for mask in export.masks:
            rle = checked_rle(export, mask)
            annotation: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": export.image.pk,
                "category_id": categories.of(mask.label_id),
                "segmentation": _segmentation(rle, options),
                "area": rle_area(rle),
                "bbox": rle_bbox(rle),
                # Each mask is one instance, so none is a crowd region, whatever its form.
                "iscrowd": 0,
                "attributes": _record_attributes(mask),
            }
            if mask.score is not None:
                annotation["score"] = mask.score
            annotations.append(annotation)
    unlabeled = categories.of(None)
    document = {
        "info": {
            "description": f"{project.name}: masks exported from the annotator",
            "version": "1.0",
            "date_created": datetime.now(UTC).isoformat(),
            "mask_form": options.mask_form,
            "records": list(options.records),
        },
        "licenses": [],
        "images": coco_images,
        "categories": categories.coco(
            unlabeled=any(a["category_id"] == unlabeled for a in annotations)
        ),
        "annotations": annotations,
    }
    with target.open("w", encoding="utf-8") as out:
        json.dump(document, out, separators=(",", ":"))
    return export_counts(len(coco_images), len(annotations), skipped)


def _segmentation(rle: dict, options: ExportOptions) -> dict | list:
    if options.mask_form != "polygons" or options.polygon_convention == "edges":
        return coco_segmentation(rle, options.mask_form)
    polygons = polygons_of(rle_to_mask(rle), "centres", outer_only=False)
    # A hole: RLE, uncompressed, which the OpenCV readers that want centres (supervision)
    # decode, as pycocotools does.
    return polygons or coco_segmentation(rle, "uncompressed_rle")


# Polygons ---------------------------------------------------------------------------------


def polygons_of(mask: np.ndarray, convention: str, *, outer_only: bool) -> list[list[float]] | None:
    """One flat [x1, y1, ...] polygon per connected part of the mask. `edges`: vertices on
    the pixel edges; `centres`: on the centres of the border pixels (a part of one pixel, or
    one straight line of pixels, has fewer than three there: its last vertex is repeated, so
    that OpenCV's fillPoly still draws it). With holes, None, unless `outer_only`: then the
    outer contours alone."""
    if convention == "edges" and not outer_only:
        return mask_polygons(mask)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return []
    columns = np.flatnonzero(mask.any(axis=0))
    top, left = int(rows[0]), int(columns[0])
    crop = np.pad(mask[top : rows[-1] + 1, left : columns[-1] + 1], 1).astype(np.uint8)
    mode = cv2.RETR_EXTERNAL if outer_only else cv2.RETR_CCOMP
    if convention == "edges":
        crop = crop.repeat(2, axis=0).repeat(2, axis=1)
    contours, hierarchy = cv2.findContours(crop, mode, cv2.CHAIN_APPROX_SIMPLE)
    offset = np.array([left - 1, top - 1])
    polygons = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True):
        if parent != -1:
            return None
        points = contour.reshape(-1, 2)
        points = ((points + 1) // 2 if convention == "edges" else points) + offset
        if len(points) < 3:
            points = np.concatenate([points, points[-1:].repeat(3 - len(points), axis=0)])
        polygons.append(points.astype(float).ravel().tolist())
    return polygons


# CSV --------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "image_id",
    "file_name",
    "source",
    "source_path",
    "width",
    "height",
    "record",
    "record_id",
    "label",
    "score",
    "bbox_x",
    "bbox_y",
    "bbox_w",
    "bbox_h",
    "area",
    "rle_form",
    "rle",
]


def write_csv(
    images: Iterable[ExportImage],
    *,
    project: Project,
    options: ExportOptions,
    categories: Categories,
    target: Path,
    progress: Progress,
) -> dict:
    rows = count = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        # CSV rows are masks, whose size is the image's: an image without masks adds no row
        # and needs no read.
        for count, export in enumerate(images, start=1):
            for mask in export.masks:
                rle = checked_rle(export, mask)
                height, width = export.size
                if options.mask_form == "uncompressed_rle":
                    counts = " ".join(map(str, uncompressed_counts(rle_to_mask(rle))))
                else:
                    counts = rle["counts"]
                x, y, w, h = rle_bbox(rle)
                writer.writerow(
                    [
                        export.image.pk,
                        export.file_name,
                        export.image.source.name,
                        image_source_path(export.image),
                        width,
                        height,
                        mask.record,
                        mask.record_id,
                        mask.label or UNLABELED,
                        "" if mask.score is None else repr(mask.score),
                        x,
                        y,
                        w,
                        h,
                        rle_area(rle),
                        options.mask_form,
                        counts,
                    ]
                )
                rows += 1
            progress(count)
    return {"images": count, "masks": rows}


# The seed's JSON schema -------------------------------------------------------------------


def _seed_mask(rle: dict | None, form: str) -> dict | None:
    if rle is None:
        return None
    return uncompressed_rle(rle) if form == "uncompressed_rle" else dict(rle)


def _seed_input(prediction, name: str) -> Any:
    if name in RECORD_COLUMNS:
        return getattr(prediction, name)
    file = getattr(prediction, f"{name}_file")  # an array the record keeps as a file
    return array_open(file).tolist() if file else None


def _seed_prediction(prediction, options: ExportOptions) -> dict:
    logits = None
    if options.include_logits and prediction.logits_file:
        logits = array_open(prediction.logits_file).tolist()
    return {
        "id": prediction.pk,
        "created_at": prediction.created_at.isoformat(),
        "inputs": {name: _seed_input(prediction, name) for name in RECORD_INPUTS},
        "outputs": {
            "model": prediction.model,
            "masks": [_seed_mask(rle, options.mask_form) for rle in prediction.masks],
            "scores": prediction.scores,
            "logits": logits,
            "chosen_index": prediction.chosen_index,
            "final_masks": [_seed_mask(prediction.final_mask, options.mask_form)]
            if prediction.final_mask
            else [],
        },
    }


def _seed_automask(run, masks: list[ExportMask], options: ExportOptions) -> dict:
    return {
        "id": run.pk,
        "created_at": run.created_at.isoformat(),
        "model": run.model,
        "params": run.params,
        "masks": [
            {"id": mask.record_id, "segmentation": _seed_mask(mask.rle, options.mask_form)}
            | {key: value for key, value in (mask.extra or {}).items() if key != "run_id"}
            for mask in masks
        ],
    }


def _seed_entry(export: ExportImage, options: ExportOptions) -> dict:
    image = export.image
    height, width = export.size
    objects = [m for m in export.masks if m.record == "object"]
    predictions = [_seed_prediction(p, options) for p in export.predictions]
    runs = [
        _seed_automask(
            run,
            [m for m in export.masks if m.extra and m.extra["run_id"] == run.pk],
            options,
        )
        for run in export.automask_runs
    ]
    latest = predictions[-1] if predictions else None
    return {
        "image_id": image.pk,
        "source": SEED_SOURCE.get(image.source.kind, image.source.kind),
        "source_name": image.source.name,
        "file_name": export.file_name,
        "path": image_source_path(image),
        "width": width,
        "height": height,
        "status": image.status,
        # The seed keeps one inputs/outputs pair per image: the latest prediction's. Every
        # prediction is under "predictions".
        "inputs": latest["inputs"] if latest else None,
        "outputs": latest["outputs"] if latest else None,
        "predictions": predictions,
        "automask": runs,
        "final_masks": [
            {
                "id": m.record_id,
                "label": m.label or None,
                "name": m.name,
                "mask": _seed_mask(m.rle, options.mask_form),
            }
            for m in objects
        ],
    }


def write_seed_json(
    images: Iterable[ExportImage],
    *,
    project: Project,
    options: ExportOptions,
    categories: Categories,
    target: Path,
    progress: Progress,
) -> dict:
    entries: dict[str, dict] = {}
    masks = 0
    skipped: list[dict] = []
    for export in readable_images(images, progress, skipped):
        for mask in export.masks:
            checked_rle(export, mask)
        masks += len(export.masks)
        key = export.image.key or f"image-{export.image.pk}"
        if key in entries:
            key = f"{key}#{export.image.pk}"  # the same picture twice in the pool
        entries[key] = _seed_entry(export, options)
    document = {
        "project": {
            "name": project.name,
            "description": project.description,
            "created_at": project.created_at.isoformat(),
            "updated_at": project.updated_at.isoformat(),
            "exported_at": datetime.now(UTC).isoformat(),
            "labels": [{"name": c.name, "color": c.color} for c in categories.labels],
            "mask_form": options.mask_form,
        },
        "images": entries,
    }
    with target.open("w", encoding="utf-8") as out:
        json.dump(document, out, separators=(",", ":"))
    return export_counts(len(entries), masks, skipped)


# PNG formats ------------------------------------------------------------------------------


def _png(array: np.ndarray, palette: list[tuple[int, int, int]] | None = None) -> bytes:
    picture = PILImage.fromarray(array)
    if palette is not None:
        flat = [channel for color in palette for channel in color]
        picture.putpalette(flat + [255, 255, 255] * (256 - len(palette)))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _class_map(export: ExportImage, masks: list[ExportMask], categories: Categories):
    height, width = export.size
    classes = np.zeros((height, width), dtype=np.uint8)
    objects = np.zeros((height, width), dtype=np.uint8)
    for number, mask in enumerate(masks, start=1):
        pixels = rle_to_mask(checked_rle(export, mask))
        classes[pixels] = categories.of(mask.label_id)
        objects[pixels] = number
    return classes, objects


def write_binary_mask(
    images: Iterable[ExportImage],
    *,
    project: Project,
    options: ExportOptions,
    categories: Categories,
    target: Path,
    progress: Progress,
) -> dict:
    manifest: dict[str, Any] = {
        "format": "binary_mask",
        "version": 1,
        "project": project.name,
        "exported_at": datetime.now(UTC).isoformat(),
        "pixel_values": {"background": 0, "mask": 255},
        "classes": categories.names() if options.label_map else None,
        "images": [],
    }
    stems = Stems()
    total = 0
    skipped: list[dict] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for export in readable_images(images, progress, skipped):
            stem = stems(export)
            height, width = export.size
            entry: dict[str, Any] = {
                "image_id": export.image.pk,
                "file_name": export.file_name,
                "width": width,
                "height": height,
                "masks": [],
            }
            for number, mask in enumerate(export.masks, start=1):
                rle = checked_rle(export, mask)
                member = f"masks/{stem}/{number:04d}.png"
                archive.writestr(member, _png(rle_to_mask(rle).astype(np.uint8) * 255))
                entry["masks"].append(
                    {
                        "file": member,
                        "label": mask.label or UNLABELED,
                        "class_index": categories.of(mask.label_id),
                        "score": mask.score,
                        "bbox": rle_bbox(rle),
                        "area": rle_area(rle),
                        **_record_attributes(mask),
                    }
                )
            if options.label_map:
                classes, _ = _class_map(export, paint_order(export.masks), categories)
                entry["label_map"] = f"label_maps/{stem}.png"
                archive.writestr(entry["label_map"], _png(classes, categories.colors()))
            manifest["images"].append(entry)
            total += len(export.masks)
        manifest["skipped"] = skipped
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    return export_counts(len(manifest["images"]), total, skipped)


def write_voc(
    images: Iterable[ExportImage],
    *,
    project: Project,
    options: ExportOptions,
    categories: Categories,
    target: Path,
    progress: Progress,
) -> dict:
    """Pascal VOC segmentation: SegmentationClass (class index per pixel, 0 background) and
    SegmentationObject (instance index per pixel) palette PNGs, named after the images."""
    stems = Stems()
    names, total = [], 0
    skipped: list[dict] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for export in readable_images(images, progress, skipped):
            masks = paint_order(export.masks)
            if len(masks) > 254:
                raise ValueError(
                    f"Image {export.file_name!r} has {len(masks)} masks; Pascal VOC object "
                    "maps hold at most 254 per image. Export binary_mask instead."
                )
            stem = stems(export)
            classes, objects = _class_map(export, masks, categories)
            archive.writestr(f"SegmentationClass/{stem}.png", _png(classes, categories.colors()))
            archive.writestr(f"SegmentationObject/{stem}.png", _png(objects, _object_palette()))
            names.append(stem)
            total += len(masks)
        archive.writestr("ImageSets/Segmentation/default.txt", "".join(f"{n}\n" for n in names))
        archive.writestr(
            "labelmap.txt",
            "# label:color_rgb:parts:actions\n"
            + "".join(
                f"{name}:{r},{g},{b}::\n"
                for name, (r, g, b) in zip(categories.names(), categories.colors(), strict=True)
            ),
        )
    return export_counts(len(names), total, skipped)


def _object_palette() -> list[tuple[int, int, int]]:
    """The VOC colour map, so instance maps look as VOC users expect."""
    palette = []
    for index in range(256):
        r = g = b = 0
        value = index
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette.append((r, g, b))
    return palette


# Ultralytics YOLO-seg ---------------------------------------------------------------------


def _yolo_lines(export: ExportImage, options: ExportOptions, categories: Categories) -> list[str]:
    """One line per connected part of each mask: class index, then x y pairs as fractions of
    the image's width and height. A mask with holes gives its outer contours only."""
    height, width = export.size
    scale = np.array([width, height], dtype=float)
    lines = []
    for mask in export.masks:
        pixels = rle_to_mask(checked_rle(export, mask))
        index = categories.of(mask.label_id) - 1  # COCO category ids count from 1
        for polygon in polygons_of(pixels, options.polygon_convention, outer_only=True) or []:
            points = np.clip(np.array(polygon).reshape(-1, 2) / scale, 0.0, 1.0)
            lines.append(f"{index} " + " ".join(f"{v:.6f}" for v in points.ravel()))
    return lines


def write_yolo_seg(
    images: Iterable[ExportImage],
    *,
    project: Project,
    options: ExportOptions,
    categories: Categories,
    target: Path,
    progress: Progress,
) -> dict:
    """labels/<stem>.txt per image, data.yaml naming the classes, images.txt listing the
    images' names: the pictures themselves stay where they are."""
    stems = Stems()
    names, total, unlabeled = [], 0, False
    skipped: list[dict] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for export in readable_images(images, progress, skipped):
            lines = _yolo_lines(export, options, categories)
            archive.writestr(f"labels/{stems(export)}.txt", "".join(f"{x}\n" for x in lines))
            names.append(export.file_name)
            total += len(export.masks)
            unlabeled |= any(categories.of(m.label_id) == categories.of(None) for m in export.masks)
        classes = [c["name"] for c in categories.coco(unlabeled=unlabeled)]
        document = {
            "path": ".",
            "train": "images",
            "val": "images",
            "names": dict(enumerate(classes)),
        }
        archive.writestr("data.yaml", yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        archive.writestr("images.txt", "".join(f"{n}\n" for n in names))
    return export_counts(len(names), total, skipped)


WRITERS = {
    "coco": write_coco,
    "binary_mask": write_binary_mask,
    "seed_json": write_seed_json,
    "csv": write_csv,
    "voc": write_voc,
    "yolo_seg": write_yolo_seg,
    "label_studio": write_label_studio,
    "cvat": write_cvat,
}
