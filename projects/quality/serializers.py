"""REST shapes of the activity log, the dashboard and ground-truth marking."""

from rest_framework import serializers

from annotator.ids import IdField

GROUND_TRUTH_MAX = 1000


class ActivityOutput(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    action = serializers.CharField(help_text='The thing, then the verb: "object.created".')
    user_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(source="user.username", allow_null=True, default=None)
    image_id = serializers.IntegerField(allow_null=True)
    image_name = serializers.CharField(source="image.display_name", allow_null=True, default=None)
    object_id = serializers.IntegerField(allow_null=True)
    data = serializers.DictField(help_text="What the action changed: counts, labels, tools.")


class DayOutput(serializers.Serializer):
    day = serializers.DateField()
    images_completed = serializers.IntegerField()
    objects_made = serializers.IntegerField()


class AnnotatorRowOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField(help_text="Their role in the project; empty once removed.")
    images_completed = serializers.IntegerField(
        help_text="Images complete now that they finished (with a review stage: accepted)."
    )
    objects_made = serializers.IntegerField()
    seconds_spent = serializers.FloatField(
        help_text="Gaps between their consecutive events, each counted up to the idle cap."
    )
    submissions = serializers.IntegerField()
    rejections = serializers.IntegerField()
    rejection_rate = serializers.FloatField(allow_null=True)
    scored_images = serializers.IntegerField(help_text="Ground-truth images they were scored on.")
    mean_iou = serializers.FloatField(allow_null=True)
    missed = serializers.IntegerField(help_text="Reference objects missed, all scores together.")
    extra = serializers.IntegerField(help_text="Objects matching no reference object.")
    days = DayOutput(many=True)


class DashboardOutput(serializers.Serializer):
    review_required = serializers.BooleanField()
    idle_cap_seconds = serializers.IntegerField()
    days = serializers.ListField(child=serializers.DateField())
    rows = AnnotatorRowOutput(many=True)


class GroundTruthInput(serializers.Serializer):
    images = serializers.ListField(
        child=IdField(), min_length=1, max_length=GROUND_TRUTH_MAX, allow_empty=False
    )
    honeypot = serializers.BooleanField(
        default=False,
        help_text="Clear the images' work and serve them again as ordinary images.",
    )


class GroundTruthRemoveInput(serializers.Serializer):
    images = serializers.ListField(
        child=IdField(), min_length=1, max_length=GROUND_TRUTH_MAX, allow_empty=False
    )


class GroundTruthImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    ground_truth = serializers.BooleanField()
    honeypot = serializers.BooleanField()
    reference_objects = serializers.IntegerField()


class GroundTruthOutput(serializers.Serializer):
    images = GroundTruthImageOutput(many=True)


class GroundTruthRemoveOutput(serializers.Serializer):
    removed = serializers.IntegerField(help_text="How many of the images were ground truth.")
