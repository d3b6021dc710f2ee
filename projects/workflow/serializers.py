from rest_framework import serializers

from annotator.api_schema import ErrorOutput
from annotator.ids import IdField
from inference.prompts import RECORD_COLUMNS
from projects.models import (
    AutomaskMask,
    AutomaskRun,
    EditStep,
    Image,
    ImageStatus,
    MaskObject,
    Prediction,
)
from projects.serializers import ImageOutput


class HeldImageOutput(ImageOutput):
    """An image with who else holds it now (the annotator handed it last, while their lease
    runs), so that an editor can say so."""

    held_by = serializers.SerializerMethodField(
        help_text="The username of someone else holding this image now, or null."
    )

    class Meta(ImageOutput.Meta):
        fields = [*ImageOutput.Meta.fields, "held_by"]

    def get_held_by(self, image) -> str | None:
        return getattr(image, "held_by", None)


class ImageStateOutput(serializers.ModelSerializer):
    """What a client needs to stay in step after a write: version, flags, status."""

    class Meta:
        model = Image
        fields = [
            "id",
            "version",
            "status",
            "completed",
            "review_state",
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
    image = HeldImageOutput()
    held_by = serializers.CharField(
        allow_null=True, help_text="The username of someone else holding this image, or null."
    )
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
    image = HeldImageOutput(allow_null=True)
    position = serializers.IntegerField(allow_null=True)
    total = serializers.IntegerField()


class CompleteAndNextOutput(serializers.Serializer):
    completed = ImageStateOutput()
    next = HeldImageOutput(allow_null=True)


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


# ------------------------------------------------------------------ assignments


class AssignFilterInput(serializers.Serializer):
    """The pool panel's filters, so that "the pool's current filter" picks what it shows."""

    status = serializers.ChoiceField(choices=ImageStatus.values, required=False, allow_null=True)
    source = IdField(required=False, allow_null=True)
    available = serializers.BooleanField(required=False, allow_null=True)
    has_automask = serializers.BooleanField(required=False, allow_null=True)
    has_manual_prediction = serializers.BooleanField(required=False, allow_null=True)
    has_manual_edit = serializers.BooleanField(required=False, allow_null=True)
    completed = serializers.BooleanField(required=False, allow_null=True)
    assigned = serializers.BooleanField(
        required=False, allow_null=True, help_text="Only images assigned to someone, or to no one."
    )
    search = serializers.CharField(required=False, allow_blank=True, max_length=500)
    open_issues = serializers.BooleanField(
        required=False, allow_null=True, help_text="Only images with open issues, or without."
    )


USERNAME = {"max_length": 150}
MAX_IMAGES = 100_000
DRY_RUN_HELP = "Only say what would change; change nothing."


class AssignInput(serializers.Serializer):
    image_ids = serializers.ListField(
        child=IdField(), required=False, allow_empty=False, max_length=MAX_IMAGES
    )
    filter = AssignFilterInput(required=False, help_text="Assign the pool's images that match.")
    user = serializers.CharField(required=False, **USERNAME)
    split = serializers.ListField(
        child=serializers.CharField(**USERNAME),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="Split the images (listed, a filter's, or the whole pool) evenly among these, "
        "in pool order.",
    )
    dry_run = serializers.BooleanField(required=False, default=False, help_text=DRY_RUN_HELP)

    def validate(self, data):
        if "image_ids" in data and "filter" in data:
            raise serializers.ValidationError("Send either image_ids or a filter.")
        if "split" in data:
            if "user" in data:
                raise serializers.ValidationError("Send either a user or split, not both.")
            if len(set(data["split"])) != len(data["split"]):
                raise serializers.ValidationError({"split": "Name each person once."})
            return data
        if "user" not in data:
            raise serializers.ValidationError({"user": "Who should the images go to?"})
        if "image_ids" not in data and "filter" not in data:
            raise serializers.ValidationError("Send either image_ids or a filter.")
        return data


class UnassignInput(serializers.Serializer):
    image_ids = serializers.ListField(
        child=IdField(), required=False, allow_empty=False, max_length=MAX_IMAGES
    )
    filter = AssignFilterInput(required=False, help_text="Take back the pool's images that match.")
    user = serializers.CharField(required=False, **USERNAME)
    users = serializers.ListField(
        child=serializers.CharField(**USERNAME),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="Take images back from these people only.",
    )
    dry_run = serializers.BooleanField(required=False, default=False, help_text=DRY_RUN_HELP)

    def validate(self, data):
        if "image_ids" in data and "filter" in data:
            raise serializers.ValidationError("Send either image_ids or a filter.")
        if "user" in data and "users" in data:
            raise serializers.ValidationError("Send either a user or users, not both.")
        if not {"image_ids", "filter", "user", "users"} & set(data):
            raise serializers.ValidationError(
                "Say which images (image_ids or a filter), whose (user or users), or both."
            )
        return data


class AssignOutput(serializers.Serializer):
    assigned = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many images each person was given."
    )
    dry_run = serializers.BooleanField(required=False)


class UnassignOutput(serializers.Serializer):
    unassigned = serializers.IntegerField()
    taken_from = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many images each person gave back."
    )
    dry_run = serializers.BooleanField(required=False)


class AssigneeOutput(serializers.Serializer):
    username = serializers.CharField()
    assigned = serializers.IntegerField(help_text="Images assigned to them in the pool.")
    completed = serializers.IntegerField(help_text="Of those, how many are completed.")


class AssignmentsOutput(serializers.Serializer):
    mine = AssigneeOutput(help_text="The caller's own assignments.")
    people = AssigneeOutput(many=True, help_text="Everyone's, for owners; empty for others.")
    unassigned = serializers.IntegerField(
        allow_null=True, help_text="Images to do that no one is assigned (owners only)."
    )
