"""Reads for exports: which images a choice of scope covers and the masks of their records."""

import hashlib
import io
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from PIL import Image as PILImage

from projects.crypto import CredentialKeyError
from projects.exports.naming import export_names
from projects.models import AutomaskMask, Image, Label, MaskObject, Prediction, Project
from projects.selectors import pool_images
from projects.sources.reader import ImageInvalid, ImageUnavailable, read_bytes

RECORD_KINDS = ("objects", "predictions", "automask")
SCOPES = ("image", "pool", "filter")
BATCH = 500


@dataclass(frozen=True)
class Scope:
    kind: str = "pool"  # image, pool or filter
    image_id: int | None = None
    completed_only: bool = False
    source_id: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class ExportMask:
    """One mask as it leaves the platform: the record it came from, its label and score."""

    record: str  # object, prediction or automask
    record_id: int
    rle: dict  # COCO compressed RLE with a str counts, image size
    label_id: int | None
    label: str
    score: float | None = None
    name: str = ""
    index: int | None = None  # which output of a prediction
    extra: dict | None = None  # automask: its run and the generator's own measures


@dataclass
class ExportImage:
    image: Image
    name: str = ""  # the image's name in this export (projects.exports.naming)
    masks: list[ExportMask] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    automask_runs: list = field(default_factory=list)
    unreadable: str = ""  # why the size cannot be known: the image is left out, with this

    @property
    def size_known(self) -> bool:
        return bool(self.image.height and self.image.width) or bool(self.masks)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) as a person sees the image, falling back to the masks' size."""
        if self.image.height and self.image.width:
            return self.image.height, self.image.width
        for mask in self.masks:
            return int(mask.rle["size"][0]), int(mask.rle["size"][1])
        raise ValueError(f"The size of image {self.file_name!r} is not known; read it first.")

    @property
    def file_name(self) -> str:
        """What the export calls the image."""
        return self.name or self.image.display_name


def scope_images(project: Project, scope: Scope) -> QuerySet[Image]:
    images = pool_images(project)
    if scope.kind == "image":
        return images.filter(pk=scope.image_id or 0)
    if scope.kind == "filter":
        if scope.completed_only:
            images = images.filter(completed=True)
        if scope.source_id is not None:
            images = images.filter(source_id=scope.source_id)
        if scope.status:
            images = images.filter(status=scope.status)
    return images


def project_categories(project: Project) -> list[Label]:
    return list(project.labels.order_by("name", "id"))


def export_images(
    images: QuerySet[Image], records: tuple[str, ...], *, keep_records: bool = False
) -> Iterator[ExportImage]:
    """Each image with the masks of the chosen records, read in batches.

    keep_records also attaches the prediction and automask rows, for the seed's JSON schema.
    Each image carries its name in the export, chosen knowing every image of the scope.
    """
    names = export_names(images)
    ids = list(names)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        by_id = {
            image.pk: ExportImage(image, name=names[image.pk])
            for image in Image.objects.filter(pk__in=chunk).select_related("source")
        }
        if "objects" in records:
            _add_objects(by_id)
        if "predictions" in records:
            _add_predictions(by_id, keep_records)
        if "automask" in records:
            _add_automask(by_id, keep_records)
        for pk in chunk:
            yield by_id[pk]


def export_sizes(exports: Iterable[ExportImage]) -> Iterator[ExportImage]:
    """Each image with its size known. An image never opened has its header read once and
    its size recorded, as its first read would; one that cannot be read is flagged
    unavailable as that read would, and says why in `unreadable`."""
    for export in exports:
        if not export.size_known:
            export.unreadable = _size_record(export.image)
        yield export


def _size_record(image: Image) -> str:
    if not image.available:
        # Already flagged, with the reason: a re-scan or opening it reads it again.
        return image.unavailable_reason or "The image is flagged unavailable."
    try:
        data = read_bytes(image)
        width, height = _header_size(data)
    except (ImageUnavailable, ImageInvalid, CredentialKeyError) as error:
        image.mark_unavailable(str(error))
        return str(error)
    changed = {"width": width, "height": height, "checked_at": timezone.now()}
    if not image.key:
        changed["key"] = hashlib.sha256(data).hexdigest()
    for name, value in changed.items():
        setattr(image, name, value)
    image.save(update_fields=list(changed))
    return ""


# EXIF orientations that turn the picture a quarter: a person sees it with width and height
# swapped (what ImageOps.exif_transpose does to the pixels on a full read).
QUARTER_TURNS = {5, 6, 7, 8}


def _header_size(data: bytes) -> tuple[int, int]:
    """(width, height) as a person sees the image, from its header: the pixels are decoded
    only where the orientation is stored after them (PNG)."""
    try:
        with warnings.catch_warnings():
            # The size is only read here; the limit below refuses what the warning is about.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as picture:
                width, height = picture.size
                orientation = picture.getexif().get(0x0112, 1)
    except PILImage.DecompressionBombError as error:
        raise ImageInvalid(f"The image is too large: {error}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInvalid(f"The file is not a readable image ({error}).") from None
    limit = settings.ANNOTATOR_MAX_IMAGE_PIXELS
    if width * height > limit:
        raise ImageInvalid(
            f"The image is too large: {width} x {height} pixels is more than the {limit:,} "
            "this server accepts (ANNOTATOR_MAX_IMAGE_PIXELS)"
        )
    return (height, width) if orientation in QUARTER_TURNS else (width, height)


def _add_objects(by_id: dict[int, ExportImage]) -> None:
    objects = MaskObject.objects.filter(image_id__in=by_id).select_related("label")
    for obj in objects.order_by("image_id", "id"):
        by_id[obj.image_id].masks.append(
            ExportMask(
                record="object",
                record_id=obj.pk,
                rle=obj.mask,
                label_id=obj.label_id,
                label=obj.label.name if obj.label else "",
                name=obj.name,
            )
        )


def prediction_masks(prediction: Prediction) -> list[tuple[int | None, dict, float | None]]:
    """The masks a prediction contributes: the one the user kept (edited or chosen), else
    every output with its score."""
    scores = list(prediction.scores or [])
    chosen = prediction.chosen_index
    score = scores[chosen] if chosen is not None and chosen < len(scores) else None
    if prediction.final_mask:
        return [(chosen, prediction.final_mask, score)]
    if chosen is not None and chosen < len(prediction.masks):
        return [(chosen, prediction.masks[chosen], score)]
    return [
        (i, rle, scores[i] if i < len(scores) else None) for i, rle in enumerate(prediction.masks)
    ]


def _add_predictions(by_id: dict[int, ExportImage], keep: bool) -> None:
    for prediction in Prediction.objects.filter(image_id__in=by_id).order_by("image_id", "id"):
        entry = by_id[prediction.image_id]
        if keep:
            entry.predictions.append(prediction)
        for index, rle, score in prediction_masks(prediction):
            entry.masks.append(
                ExportMask(
                    record="prediction",
                    record_id=prediction.pk,
                    rle=rle,
                    label_id=None,
                    label="",
                    score=None if score is None else float(score),
                    index=index,
                )
            )


def _add_automask(by_id: dict[int, ExportImage], keep: bool) -> None:
    masks = AutomaskMask.objects.filter(run__image_id__in=by_id).select_related("run")
    runs: dict[int, object] = {}
    for mask in masks.order_by("run__image_id", "run_id", "id"):
        entry = by_id[mask.run.image_id]
        if keep and mask.run_id not in runs:
            runs[mask.run_id] = mask.run
            entry.automask_runs.append(mask.run)
        entry.masks.append(
            ExportMask(
                record="automask",
                record_id=mask.pk,
                rle=mask.segmentation,
                label_id=None,
                label="",
                score=float(mask.predicted_iou),
                extra={
                    "run_id": mask.run_id,
                    "area": mask.area,
                    "bbox": mask.bbox,
                    "predicted_iou": mask.predicted_iou,
                    "stability_score": mask.stability_score,
                    "point_coords": mask.point_coords,
                    "crop_box": mask.crop_box,
                },
            )
        )
