from rest_framework import serializers

from annotator.api_schema import ErrorOutput
from annotator.ids import IdField
from inference.prompts import RECORD_COLUMNS
from projects.models import AutomaskMask, AutomaskRun, EditStep, Image, MaskObject, Prediction
from projects.serializers import ImageOutput


class ImageStateOutput(serializers.ModelSerializer):
    """What a client needs to stay in step after a write: version, flags, status."""

    class Meta:
        model = Image
        fields = [
            "id",
            "version",
            "status",
            "completed",
            "has_automask",
            "has_manual_prediction",
            "has_manual_edit",
        ]


class RLEField(serializers.JSONField):
    """A COCO RLE {"size": [h, w], "counts": str | [int, ...]}; checked against the image
    by the service."""


class PredictionRecordOutput(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)

    class Meta:
        model = Prediction
        fields = [
            "id",
            *RECORD_COLUMNS,
            "model",
            "masks",
            "scores",
            "chosen_index",
            "final_mask",
            "created_by",
            "created_at",
        ]


class AutomaskMaskOutput(serializers.ModelSerializer):
    class Meta:
        model = AutomaskMask
        fields = [
            "id",
            "segmentation",
            "area",
            "bbox",
            "predicted_iou",
            "stability_score",
            "point_coords",
            "crop_box",
        ]


class AutomaskRunOutput(serializers.ModelSerializer):
    masks = AutomaskMaskOutput(many=True)

    class Meta:
        model = AutomaskRun
        fields = ["id", "job", "model", "params", "created_at", "masks"]


class MaskObjectOutput(serializers.ModelSerializer):
    label_name = serializers.CharField(source="label.name", allow_null=True, default=None)
    label_color = serializers.CharField(source="label.color", allow_null=True, default=None)
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)

    class Meta:
        model = MaskObject
        fields = [
            "id",
            "label",
            "label_name",
            "label_color",
            "name",
            "mask",
            "origin",
            "prediction",
            "automask",
            "updated_by",
            "updated_at",
        ]


class RecordsOutput(serializers.Serializer):
    predictions = PredictionRecordOutput(many=True)
    automask_runs = AutomaskRunOutput(many=True)
    objects = MaskObjectOutput(many=True)


class OpenOutput(serializers.Serializer):
    image = ImageOutput()
    position = serializers.IntegerField()
    total = serializers.IntegerField()
    records = RecordsOutput()
    can_undo = serializers.BooleanField()
    can_redo = serializers.BooleanField()


class VersionInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=0, help_text="The image version you saw.")


class ObjectCreateInput(VersionInput):
    mask = RLEField(required=False, help_text="RLE of the whole mask, image size.")
    points = serializers.JSONField(required=False, help_text="Polygon [[x, y], ...] to fill.")
    label_id = IdField(required=False, allow_null=True)
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    def validate(self, data):
        if ("mask" in data) == ("points" in data):
            raise serializers.ValidationError("Send either a mask or polygon points.")
        return data


PAINT_KINDS = [EditStep.Kind.BRUSH, EditStep.Kind.ERASER, EditStep.Kind.POLYGON]


class ObjectUpdateInput(VersionInput):
    op = serializers.ChoiceField(
        choices=["brush", "eraser", "polygon", "replace", "label"],
        help_text=(
            "brush / eraser / polygon: add or remove `region` (an RLE) or `points` (a polygon); "
            "replace: set `mask`; label: set `label_id` and/or `name`."
        ),
    )
    mask = RLEField(required=False)
    region = RLEField(required=False)
    points = serializers.JSONField(required=False)
    label_id = IdField(required=False, allow_null=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate(self, data):
        op = data["op"]
        if op == "replace" and "mask" not in data:
            raise serializers.ValidationError({"mask": "replace needs the new mask."})
        if op in PAINT_KINDS and "region" not in data and "points" not in data:
            raise serializers.ValidationError({"region": f"{op} needs a region or points."})
        if op == "label" and "label_id" not in data and "name" not in data:
            raise serializers.ValidationError({"label_id": "label needs label_id or name."})
        return data


class ChooseInput(VersionInput):
    index = serializers.IntegerField(min_value=0)
    label_id = IdField(required=False, allow_null=True)
    object_id = IdField(
        required=False, allow_null=True, help_text="Refine this object instead of adding one."
    )


class KeepEachInput(VersionInput):
    label_id = IdField(required=False, allow_null=True)


class PromoteInput(VersionInput):
    mask_ids = serializers.ListField(child=IdField(), required=False)
    run_id = IdField(required=False, help_text="Promote every mask of a run.")
    label_id = IdField(required=False, allow_null=True)

    def validate(self, data):
        if ("mask_ids" in data) == ("run_id" in data):
            raise serializers.ValidationError("Send either mask_ids or run_id.")
        return data


class CompleteInput(serializers.Serializer):
    completed = serializers.BooleanField(default=True)


class ObjectChangeOutput(serializers.Serializer):
    image = ImageStateOutput()
    object = MaskObjectOutput(allow_null=True)


class ObjectsChangeOutput(serializers.Serializer):
    image = ImageStateOutput()
    objects = MaskObjectOutput(many=True)


class TravelOutput(serializers.Serializer):
    image = ImageStateOutput()
    objects = MaskObjectOutput(many=True)
    can_undo = serializers.BooleanField()
    can_redo = serializers.BooleanField()


class StepOutput(serializers.Serializer):
    image = ImageOutput(allow_null=True)
    position = serializers.IntegerField(allow_null=True)
    total = serializers.IntegerField()


class CompleteAndNextOutput(serializers.Serializer):
    completed = ImageStateOutput()
    next = ImageOutput(allow_null=True)


class ConflictCurrentOutput(serializers.Serializer):
    image = ImageStateOutput()
    records = RecordsOutput()


class ConflictOutput(ErrorOutput):
    """409: the image changed since the client read it (`current` is then what it is now), an
    undo met a newer edit, or the image's file cannot be read now."""

    current = ConflictCurrentOutput(required=False)


class HistoryOutput(serializers.Serializer):
    image = ImageOutput()
    edited_at = serializers.DateTimeField()
