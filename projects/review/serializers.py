from rest_framework import serializers

from projects.models import Comment, Review
from projects.workflow.serializers import ImageStateOutput


class PointField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.FloatField(),
            min_length=2,
            max_length=2,
            allow_null=True,
            required=False,
            help_text="[x, y] in image pixels.",
            **kwargs,
        )


class IssueInput(serializers.Serializer):
    body = serializers.CharField(max_length=5000)
    point = PointField()
    object_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class AcceptInput(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class RejectInput(serializers.Serializer):
    comment = serializers.CharField(
        allow_blank=True, max_length=5000, help_text="Required: what is wrong, what to change."
    )
    issues = IssueInput(many=True, required=False, default=list)


class CommentInput(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, max_length=5000)
    parent = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    object_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    is_issue = serializers.BooleanField(required=False, default=False)
    point = PointField()


class ResolveInput(serializers.Serializer):
    resolved = serializers.BooleanField()


class ReplyOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", allow_null=True, default=None)

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "created_at"]


class CommentOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    resolved_by = serializers.CharField(
        source="resolved_by.username", allow_null=True, default=None
    )
    replies = ReplyOutput(many=True, read_only=True)

    class Meta:
        model = Comment
        fields = [
            "id",
            "author",
            "body",
            "is_issue",
            "point",
            "object_id",
            "review",
            "resolved_at",
            "resolved_by",
            "created_at",
            "replies",
        ]


class ReviewOutput(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)

    class Meta:
        model = Review
        fields = ["id", "decision", "comment", "reviewer", "created_at"]


class CommentsOutput(serializers.Serializer):
    review_state = serializers.CharField()
    submitted_by = serializers.CharField(allow_null=True)
    latest_review = ReviewOutput(allow_null=True)
    open_issues = serializers.IntegerField()
    threads = CommentOutput(many=True)


class DecisionOutput(serializers.Serializer):
    image = ImageStateOutput()
    review = ReviewOutput(allow_null=True)
    next = serializers.IntegerField(allow_null=True, help_text="The next submitted image's id.")
    queue = serializers.IntegerField(help_text="How many images wait for review now.")


class QueueOutput(serializers.Serializer):
    next = serializers.IntegerField(allow_null=True)
    queue = serializers.IntegerField()
