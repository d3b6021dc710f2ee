from rest_framework import serializers

from projects.imports.formats import FORMATS, MODES
from projects.serializers import JobOutput


class ImportStartInput(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "coco: COCO instance segmentation JSON; yolo_seg: a zip of Ultralytics YOLO-seg "
            ".txt label files with their data.yaml; mask_png: a zip of mask PNGs; seed_json: "
            "the seed JSON this application exports; label_studio: a Label Studio JSON export"
        )
    )
    format = serializers.ChoiceField(FORMATS, help_text=", ".join(FORMATS))
    mode = serializers.ChoiceField(
        MODES,
        default="objects",
        help_text=(
            "objects: final objects with labels (one undo step per image); predictions: one "
            "automask run per image, to review and promote in the editor"
        ),
    )
    create_labels = serializers.BooleanField(
        default=False,
        help_text="make a label for each class name the project lacks (else: reported)",
    )


class ImportJobOutput(serializers.Serializer):
    job = JobOutput(source="*")
