from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from projects.jobs import job_eta
from projects.models import Image, Job, Label, Membership, Project, Role, Source


class ProjectOutput(serializers.ModelSerializer):
    role = serializers.CharField(read_only=True, allow_null=True, default=None)
    image_count = serializers.IntegerField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "review_required",
            "created_at",
            "updated_at",
            "role",
            "image_count",
        ]


class ProjectCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ProjectUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    review_required = serializers.BooleanField(
        required=False,
        help_text="A review stage: completing submits an image, a reviewer accepts or rejects it.",
    )


class ProjectStateOutput(serializers.ModelSerializer):
    """The project settings. The context gives `automask_params` (the project's) and
    `view_settings` (the caller's own); `ui_settings` is the older shape, kept for older
    clients: the caller's view settings with the project's automask parameters."""

    automask_params = serializers.SerializerMethodField()
    embeddings_auto = serializers.SerializerMethodField()
    ui_settings = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "model_selection",
            "export_settings",
            "automask_params",
            "embeddings_auto",
            "ui_settings",
        ]

    def get_embeddings_auto(self, project) -> bool:
        return (project.ui_settings or {}).get("embeddings_auto") is True

    def get_automask_params(self, project) -> dict:
        return self.context.get("automask_params", {})

    def get_ui_settings(self, project) -> dict:
        automask = self.get_automask_params(project)
        view = self.context.get("view_settings", {})
        return {**view, **({"automask_params": automask} if automask else {})}


class ProjectStateInput(serializers.Serializer):
    export_settings = serializers.DictField(required=False)
    automask_params = serializers.DictField(
        required=False, help_text="The automask route's `params`, replaced whole."
    )
    embeddings_auto = serializers.BooleanField(
        required=False,
        help_text="Prepare the pool's embeddings on their own when a model is loaded or "
        "images are added (and now, if a model is loaded).",
    )
    ui_settings = serializers.DictField(
        required=False,
        help_text="Older shape: `automask_params` in it is the project setting; every other "
        "key is one of the caller's own view settings (see /my-settings/).",
    )

    def validate(self, attrs):
        legacy = dict(attrs.pop("ui_settings", None) or {})
        if "automask_params" in legacy:
            attrs.setdefault("automask_params", legacy.pop("automask_params"))
        if legacy:
            attrs["view_settings"] = legacy
        return attrs


class MemberOutput(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.id")
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["user_id", "username", "role", "created_at"]


class MemberInput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_username(self, value):
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise serializers.ValidationError(f"There is no user named {value!r}.")
        return user


class MemberRoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
HEX_COLOR_ERROR: dict[str, Any] = {"invalid": "Use a hex colour such as #1f77b4."}


class LabelSerializer(serializers.ModelSerializer):
    color = serializers.RegexField(HEX_COLOR, required=False, error_messages=HEX_COLOR_ERROR)

    class Meta:
        model = Label
        fields = ["id", "name", "color"]


class LabelUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    color = serializers.RegexField(HEX_COLOR, required=False, error_messages=HEX_COLOR_ERROR)


class SourceOutput(serializers.ModelSerializer):
    image_count = serializers.IntegerField(read_only=True, allow_null=True, default=None)
    has_credential = serializers.SerializerMethodField()

    class Meta:
        model = Source
        # The credential itself is never serialized: only whether one is attached.
        fields = [
            "id",
            "kind",
            "name",
            "location",
            "has_credential",
            "available",
            "unavailable_reason",
            "checked_at",
            "created_at",
            "removed_at",
            "image_count",
        ]

    def get_has_credential(self, source) -> bool:
        return source.credential_id is not None


class ImageOutput(serializers.ModelSerializer):
    source_name = serializers.CharField(source="source.name", read_only=True)
    name = serializers.CharField(
        source="display_name",
        read_only=True,
        help_text="The name a person knows the image by: an upload's file name, else its path "
        "in its source (folder path, blob name after the prefix's folder, URL). `path` is "
        "where it is stored, kept for older clients.",
    )
    open_issues = serializers.SerializerMethodField(
        help_text="How many unresolved issues the image has (in the overview; null elsewhere)."
    )

    def get_open_issues(self, image) -> int | None:
        return getattr(image, "open_issues", None)

    class Meta:
        model = Image
        fields = [
            "id",
            "source",
            "source_name",
            "name",
            "path",
            "key",
            "width",
            "height",
            "available",
            "unavailable_reason",
            "removed_at",
            "status",
            "has_automask",
            "has_manual_prediction",
            "has_manual_edit",
            "completed",
            "review_state",
            "open_issues",
            "added_at",
            "opened_at",
            "edited_at",
            "version",
        ]


class JobOutput(serializers.ModelSerializer):
    eta_seconds = serializers.SerializerMethodField(
        help_text="Seconds left, from this run's latest images; null unless running."
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "project",
            "kind",
            "status",
            "params",
            "done",
            "total",
            "eta_seconds",
            "message",
            "result",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_eta_seconds(self, job: Job) -> float | None:
        return job_eta(job)
