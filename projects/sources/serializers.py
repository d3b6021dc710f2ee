from rest_framework import serializers

from annotator.ids import IdField
from projects.models import Credential, Image
from projects.serializers import ImageOutput, JobOutput, SourceOutput

__all__ = ["ImageOutput", "JobOutput", "SourceOutput"]


class CredentialInput(serializers.Serializer):
    """A credential typed by a user: stored encrypted, never sent back."""

    kind = serializers.ChoiceField(choices=Credential.Kind.choices)
    secret = serializers.CharField(required=False, allow_blank=True, default="", write_only=True)
    env_var = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class UploadSourceInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, default="Uploads")


class FolderSourceInput(serializers.Serializer):
    path = serializers.CharField(max_length=4096)
    name = serializers.CharField(max_length=200, required=False, default="")
    recursive = serializers.BooleanField(required=False, default=True)
    extensions = serializers.ListField(
        child=serializers.CharField(max_length=16), required=False, default=None
    )


class UrlSourceInput(serializers.Serializer):
    urls = serializers.JSONField(
        help_text="One URL, a list of URLs, or a pasted text with one URL per line."
    )
    name = serializers.CharField(max_length=200, required=False, default="")

    def validate_urls(self, value):
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            return value
        raise serializers.ValidationError("Give a URL, a list of URLs or a text of URLs.")


class AzureSourceInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, default="")
    account_url = serializers.CharField(max_length=500, required=False, default="")
    container = serializers.CharField(max_length=200, required=False, default="")
    prefix = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    sas_url = serializers.CharField(
        max_length=4000,
        required=False,
        default="",
        write_only=True,
        help_text="A container SAS URL; replaces account_url, container and credential.",
    )
    extensions = serializers.ListField(
        child=serializers.CharField(max_length=16), required=False, default=None
    )
    credential = CredentialInput(required=False, default=None)
    credential_id = IdField(required=False, default=None)


class SourceUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    recursive = serializers.BooleanField(required=False)
    extensions = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
    prefix = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    add_urls = serializers.ListField(child=serializers.CharField(max_length=4000), required=False)
    credential = CredentialInput(required=False)


class SourceSecretInput(serializers.Serializer):
    """The secret of an Azure source's credential, typed again: stored encrypted, never sent
    back. `kind` is what the secret is; without it the credential keeps its kind."""

    kind = serializers.ChoiceField(
        choices=[
            (Credential.Kind.SAS_TOKEN, "SAS token"),
            (Credential.Kind.CONNECTION_STRING, "Connection string"),
            (Credential.Kind.ACCOUNT_KEY, "Account key"),
        ],
        required=False,
        default="",
    )
    secret = serializers.CharField(max_length=4000, write_only=True, trim_whitespace=True)


class SourceCreatedOutput(serializers.Serializer):
    source = SourceOutput()
    job = JobOutput(allow_null=True)


class SourceRemovalOutput(serializers.Serializer):
    source_id = serializers.IntegerField()
    images = serializers.IntegerField()
    images_with_annotations = serializers.IntegerField()
    message = serializers.CharField()


class UploadInput(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True))
    source = IdField(required=False, default=None)


class UploadOutcomeOutput(serializers.Serializer):
    name = serializers.CharField()
    duplicate = serializers.BooleanField()
    message = serializers.SerializerMethodField()
    image = ImageOutput()

    def get_message(self, outcome) -> str:
        if outcome.duplicate:
            return (
                f"{outcome.name}: the same image is already in the pool (image {outcome.image.pk})."
            )
        return f"{outcome.name}: added."


class ImagePresenceOutput(serializers.ModelSerializer):
    """Whether an image is in the pool and readable."""

    class Meta:
        model = Image
        fields = ["id", "removed_at", "available", "unavailable_reason"]
