from django.urls import reverse
from rest_framework import serializers

from annotator.ids import IdField
from projects.exports.formats import EXPORT_FORMATS, POLYGON_CONVENTIONS
from projects.exports.masks import MASK_FORMS
from projects.exports.selectors import RECORD_KINDS, SCOPES
from projects.models import ImageStatus
from projects.serializers import JobOutput


class ExportStartInput(serializers.Serializer):
    """Every field is optional: what is left out comes from the project's saved export
    choices, then from the defaults (whole pool, final objects, COCO, compressed RLE)."""

    scope = serializers.ChoiceField(SCOPES, required=False, help_text="image, pool or filter")
    image_id = IdField(required=False, help_text="the image, for scope image")
    completed_only = serializers.BooleanField(required=False, help_text="filter: completed")
    source_id = IdField(required=False, allow_null=True, help_text="filter")
    # Checked by the service; a plain string here keeps the schema's image status enum single.
    image_status = serializers.CharField(
        required=False,
        allow_null=True,
        help_text=f"filter: image status, one of {', '.join(ImageStatus.values)}",
    )
    records = serializers.MultipleChoiceField(
        choices=RECORD_KINDS,
        required=False,
        help_text="objects (final edited masks with labels), predictions, automask",
    )
    format = serializers.ChoiceField(
        EXPORT_FORMATS,
        required=False,
        help_text=(
            "coco, binary_mask, seed_json, csv, voc, yolo_seg, label_studio (tasks.json with "
            "brush masks and label_config.xml), cvat (CVAT for images 1.1 XML with masks); or "
            "archive: the whole project"
        ),
    )
    mask_form = serializers.ChoiceField(
        MASK_FORMS,
        required=False,
        help_text=(
            "coco_rle, uncompressed_rle or polygons (COCO only). Polygons follow the pixel "
            "edges and rasterize back exactly; a mask with a hole cannot be a COCO polygon "
            "and is written as compressed RLE instead. The PNG formats, yolo_seg, "
            "label_studio and cvat write masks their own way and ignore it."
        ),
    )
    polygon_convention = serializers.ChoiceField(
        POLYGON_CONVENTIONS,
        required=False,
        help_text=(
            "COCO polygons and yolo_seg: edges (vertices on pixel edges, exact in pycocotools) "
            "or centres (on pixel centres, exact in OpenCV fillPoly readers such as supervision)"
        ),
    )
    label_map = serializers.BooleanField(required=False, help_text="binary_mask: label maps")
    include_logits = serializers.BooleanField(required=False, help_text="seed_json: logits")


class ExportJobOutput(serializers.Serializer):
    job = JobOutput(source="*")
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, job) -> str | None:
        if job.status != job.Status.DONE:
            return None
        return reverse("api:export-download", kwargs={"job_id": job.pk})


class ArchiveUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="a project archive downloaded from this application")
    name = serializers.CharField(
        required=False,
        max_length=200,
        help_text="a name for the new project (default: the archived project's name)",
    )


class ArchiveRestoreInput(serializers.Serializer):
    file = serializers.FileField(help_text="a project archive downloaded from this application")
