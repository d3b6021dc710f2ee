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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml
from PIL import Image as PILImage

from inference.prompts import RECORD_COLUMNS, RECORD_INPUTS
from projects.encoding import array_open, rle_area, rle_bbox, rle_to_mask
from projects.exports.cvat import cvat_document, cvat_image, cvat_mask, xml_safe
from projects.exports.label_studio import studio_config, studio_region, studio_task
from projects.exports.masks import (
    coco_segmentation,
    mask_polygons,
    uncompressed_counts,
    uncompressed_rle,
)
from projects.exports.naming import file_stem
from projects.exports.selectors import ExportImage, ExportMask, export_sizes
from projects.models import Label, Project, label_color_free
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
UNLABELED = "unlabeled"
BACKGROUND_COLOR = "#000000"
UNLABELED_COLOR = "#808080"
SEED_SOURCE = {"upload": "client", "folder": "server", "azure_blob": "blob", "url": "url"}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ExportOptions:
    format: str = "coco"
    mask_form: str = "coco_rle"
    records: tuple[str, ...] = ("objects",)
    label_map: bool = False  # binary_mask: also one label-index PNG per image
    include_logits: bool = False  # seed_json: the low-resolution logits as nested lists
    polygon_convention: str = "edges"  # COCO polygons and YOLO-seg: edges or centres


@dataclass
class Categories:
    """The project's labels as classes 1..N in name order, then `unlabeled` (N + 1) for
    masks without a label: the COCO category ids (COCO readers take 0 for the background)
    and the PNG formats' class indexes, where 0 is the background."""

    labels: list[Label]
    index_of: dict[int | None, int] = field(init=False)
    palette: list[tuple[int, int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.index_of = {label.pk: i + 1 for i, label in enumerate(self.labels)}
        self.index_of[None] = len(self.labels) + 1
        self.palette = [_rgb(color) for color in self._distinct_colors()]

    def of(self, label_id: int | None) -> int:
        """The class of a mask; a label gone since is no class any more."""
        return self.index_of.get(label_id, self.index_of[None])

    def coco(self, *, unlabeled: bool) -> list[dict]:
        """The categories; `unlabeled` only where some mask has no label."""
        categories = [
            {
                "id": self.index_of[label.pk],
                "name": label.name,
                "supercategory": "",
                "color": label.color,
                "label_id": label.pk,
            }
            for label in self.labels
        ]
        if unlabeled:
            categories.append(
                {
                    "id": self.index_of[None],
                    "name": UNLABELED,
                    "supercategory": "",
                    "color": UNLABELED_COLOR,
                }
            )
        return categories

    def named_colors(self, *, unlabeled: bool) -> list[tuple[str, str]]:
        """(name, #rrggbb) per class in class order, each class in a colour of its own;
        `unlabeled` last, only where asked."""
        colors = self._distinct_colors()[1:]
        classes = [(label.name, color) for label, color in zip(self.labels, colors, strict=False)]
        return classes + ([(UNLABELED, UNLABELED_COLOR)] if unlabeled else [])

    def name_of(self, label_id: int | None) -> str:
        return self.names()[self.of(label_id)]

    def names(self) -> list[str]:
        return ["background", *(label.name for label in self.labels), UNLABELED]

    def colors(self) -> list[tuple[int, int, int]]:
        """One colour per class, in class order: background, the labels, unlabeled."""
        return self.palette

    def _distinct_colors(self) -> list[str]:
        # Readers of VOC maps (datumaro, CVAT) tell classes apart by colour, so no two
        # classes share one: a label painted like another, or black or grey, is drawn in
        # the first palette colour still free.
        taken = {BACKGROUND_COLOR, UNLABELED_COLOR}
        colors = []
        for label in self.labels:
            color = label.color.lower()
            if color in taken:
                color = label_color_free(taken)
            taken.add(color)
            colors.append(color)
        return [BACKGROUND_COLOR, *colors, UNLABELED_COLOR]


def _rgb(color: str) -> tuple[int, int, int]:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return red, green, blue


def _readable(
    images: Iterable[ExportImage], progress: Progress, skipped: list[dict]
) -> Iterator[ExportImage]:
    """The images whose size is known (read now for those never opened), each counted as
    done once written; those that cannot be read go to `skipped`, with the reason."""
    for count, export in enumerate(export_sizes(images), start=1):
        if export.unreadable:
            skipped.append(
                {
                    "image_id": export.image.pk,
                    "file_name": export.file_name,
                    "path": image_source_path(export.image),
                    "reason": export.unreadable,
                }
            )
        else:
            yield export
        progress(count)


def _counts(images: int, masks: int, skipped: list[dict]) -> dict:
    return {"images": images, "masks": masks, **({"skipped": skipped} if skipped else {})}


class Stems:
    """File stems for per-image files, unique within one export: the image's name in the
    export without its extension, with its id appended when two images share a stem."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, export: ExportImage) -> str:
        stem = file_stem(export.file_name, export.image.pk)
        if stem in self.used:
            stem = f"{stem}_{export.image.pk}"
        self.used.add(stem)
        return stem


def _checked(export: ExportImage, mask: ExportMask) -> dict:
    """The mask's RLE, refused when it was made for a different image size."""
    height, width = export.size
    if [int(v) for v in mask.rle["size"]] != [height, width]:
        raise ValueError(
            f"The {mask.record} #{mask.record_id} of image {export.file_name!r} has size "
            f"{mask.rle['size']} but the image is {height}x{width}."
        )
    return mask.rle


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
    for export in _readable(images, progress, skipped):
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
            rle = _checked(export, mask)
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
    return _counts(len(coco_images), len(annotations), skipped)


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
                rle = _checked(export, mask)
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
    for export in _readable(images, progress, skipped):
        for mask in export.masks:
            _checked(export, mask)
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
    return _counts(len(entries), masks, skipped)


# PNG formats ------------------------------------------------------------------------------


def _png(array: np.ndarray, palette: list[tuple[int, int, int]] | None = None) -> bytes:
    picture = PILImage.fromarray(array)
    if palette is not None:
        flat = [channel for color in palette for channel in color]
        picture.putpalette(flat + [255, 255, 255] * (256 - len(palette)))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _paint_order(masks: list[ExportMask]) -> list[ExportMask]:
    """Larger masks first, so a small object on top of a large one stays visible."""
    return sorted(masks, key=lambda m: -rle_area(m.rle))


def _class_map(export: ExportImage, masks: list[ExportMask], categories: Categories):
    height, width = export.size
    classes = np.zeros((height, width), dtype=np.uint8)
    objects = np.zeros((height, width), dtype=np.uint8)
    for number, mask in enumerate(masks, start=1):
        pixels = rle_to_mask(_checked(export, mask))
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
        for export in _readable(images, progress, skipped):
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
                rle = _checked(export, mask)
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
                classes, _ = _class_map(export, _paint_order(export.masks), categories)
                entry["label_map"] = f"label_maps/{stem}.png"
                archive.writestr(entry["label_map"], _png(classes, categories.colors()))
            manifest["images"].append(entry)
            total += len(export.masks)
        manifest["skipped"] = skipped
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    return _counts(len(manifest["images"]), total, skipped)


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
        for export in _readable(images, progress, skipped):
            masks = _paint_order(export.masks)
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
    return _counts(len(names), total, skipped)


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
        pixels = rle_to_mask(_checked(export, mask))
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
        for export in _readable(images, progress, skipped):
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
    return _counts(len(names), total, skipped)


# Label Studio -------------------------------------------------------------------------------


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
            for export in _readable(images, progress, skipped):
                regions = [
                    studio_region(
                        region_id=_region_id(mask),
                        pixels=rle_to_mask(_checked(export, mask)),
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
    return _counts(count, total, skipped)


# CVAT -------------------------------------------------------------------------------------


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
    for export in _readable(images, progress, skipped):
        height, width = export.size
        picture = cvat_image(
            frame=len(pictures), name=xml_safe(export.file_name), height=height, width=width
        )
        for z_order, mask in enumerate(_paint_order(export.masks)):
            element = cvat_mask(
                pixels=rle_to_mask(_checked(export, mask)),
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
    return _counts(len(pictures), total, skipped)


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
