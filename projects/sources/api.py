"""REST endpoints for the pool: sources of every kind, uploads, single images, thumbnails
and the image bytes the editor shows.

Managing sources (folders on the server, Azure credentials, editing and removing) is for
project owners; adding images (uploads, URLs), re-scanning and removing single images is
for annotators too; viewers read.
"""

from django.http import FileResponse, HttpResponse, HttpResponseNotModified
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api_schema import ErrorOutput
from projects import access
from projects.errors import ImageNotReadable
from projects.sources import editor_file, reader, selectors, services, thumbnails
from projects.sources.serializers import (
    AzureSourceInput,
    FolderSourceInput,
    ImageOutput,
    ImagePresenceOutput,
    JobOutput,
    SourceCreatedOutput,
    SourceOutput,
    SourceRemovalOutput,
    SourceSecretInput,
    SourceUpdateInput,
    UploadInput,
    UploadOutcomeOutput,
    UploadSourceInput,
    UrlSourceInput,
)

# The editor asks for the file by its content key (?v=), so a copy stays good for a while.
EDITOR_FILE_MAX_AGE = 3600


def _created(source, job=None) -> Response:
    source = selectors.source_with_count(source)
    body = SourceCreatedOutput({"source": source, "job": job}).data
    return Response(body, status=status.HTTP_201_CREATED)


def _credential(data: dict):
    given = data.get("credential")
    return services.CredentialInput(**given) if given else None


class SourceListApi(APIView):
    @extend_schema(responses=SourceOutput(many=True))
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        include_removed = request.query_params.get("removed") == "true"
        sources = selectors.project_sources(project, include_removed=include_removed)
        return Response(SourceOutput(sources, many=True).data)


class UploadSourceCreateApi(APIView):
    @extend_schema(request=UploadSourceInput, responses={201: SourceCreatedOutput})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = UploadSourceInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _created(services.source_upload_create(project=project, **data.validated_data))


class FolderSourceCreateApi(APIView):
    @extend_schema(request=FolderSourceInput, responses={201: SourceCreatedOutput})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = FolderSourceInput(data=request.data)
        data.is_valid(raise_exception=True)
        source, job = services.source_folder_create(
            project=project, user=request.user, **data.validated_data
        )
        return _created(source, job)


class UrlSourceCreateApi(APIView):
    @extend_schema(request=UrlSourceInput, responses={201: SourceCreatedOutput})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = UrlSourceInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _created(services.source_urls_create(project=project, **data.validated_data))


class AzureSourceCreateApi(APIView):
    @extend_schema(request=AzureSourceInput, responses={201: SourceCreatedOutput})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = AzureSourceInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "credential"}
        source, job = services.source_azure_create(
            project=project,
            user=request.user,
            credential=_credential(data.validated_data),
            **fields,
        )
        return _created(source, job)


class SourceDetailApi(APIView):
    @extend_schema(responses=SourceOutput)
    def get(self, request, source_id: int):
        source = access.source_for_user(request.user, source_id)
        return Response(SourceOutput(selectors.source_with_count(source)).data)

    @extend_schema(request=SourceUpdateInput, responses=SourceCreatedOutput)
    def patch(self, request, source_id: int):
        source = access.source_for_user(request.user, source_id, need="own")
        data = SourceUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "credential"}
        source, job = services.source_update(
            source=source,
            user=request.user,
            credential=_credential(data.validated_data),
            **fields,
        )
        source = selectors.source_with_count(source)
        return Response(SourceCreatedOutput({"source": source, "job": job}).data)

    @extend_schema(responses={200: SourceRemovalOutput})
    def delete(self, request, source_id: int):
        source = access.source_for_user(request.user, source_id, need="own")
        return Response(SourceRemovalOutput(services.source_remove(source=source)).data)


class SourceRemovalPreviewApi(APIView):
    @extend_schema(responses=SourceRemovalOutput)
    def get(self, request, source_id: int):
        source = access.source_for_user(request.user, source_id, need="own")
        return Response(SourceRemovalOutput(selectors.source_removal_summary(source)).data)


class SourceRestoreApi(APIView):
    @extend_schema(request=None, responses=SourceOutput)
    def post(self, request, source_id: int):
        source = access.source_for_user(request.user, source_id, need="own")
        source = services.source_restore(source=source)
        return Response(SourceOutput(selectors.source_with_count(source)).data)


class SourceSecretApi(APIView):
    @extend_schema(request=SourceSecretInput, responses={202: SourceCreatedOutput})
    def post(self, request, source_id: int):
        source = access.source_for_user(request.user, source_id, need="own")
        data = SourceSecretInput(data=request.data)
        data.is_valid(raise_exception=True)
        source, job = services.source_secret_set(
            source=source, user=request.user, **data.validated_data
        )
        body = SourceCreatedOutput({"source": selectors.source_with_count(source), "job": job})
        return Response(body.data, status=status.HTTP_202_ACCEPTED)


class SourceScanApi(APIView):
    @extend_schema(request=None, responses={202: JobOutput})
    def post(self, request, source_id: int):
        source = access.source_for_user(request.user, source_id, need="edit")
        job = services.source_scan_start(source=source, user=request.user)
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class UploadApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={201: UploadOutcomeOutput(many=True)},
    )
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = UploadInput(data={"files": request.FILES.getlist("files"), **_source_field(request)})
        data.is_valid(raise_exception=True)
        source = None
        if data.validated_data["source"] is not None:
            source = access.source_for_user(
                request.user, data.validated_data["source"], need="edit"
            )
            if source.project_id != project.pk:
                raise ValidationError({"source": "That source belongs to another project."})
        outcomes = services.upload_files(
            project=project, files=data.validated_data["files"], source=source
        )
        return Response(
            UploadOutcomeOutput(outcomes, many=True).data, status=status.HTTP_201_CREATED
        )


def _source_field(request) -> dict:
    value = request.data.get("source")
    return {"source": value} if value not in (None, "") else {}


class ImageRemoveApi(APIView):
    @extend_schema(request=None, responses=ImagePresenceOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        return Response(ImagePresenceOutput(services.image_remove(image=image)).data)


class ImageRestoreApi(APIView):
    @extend_schema(request=None, responses=ImageOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        return Response(ImageOutput(services.image_restore(image=image)).data)


class ImageThumbnailApi(APIView):
    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 409: ErrorOutput})
    def get(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id)
        try:
            path = thumbnails.thumbnail_get(image)
        except (reader.ImageUnavailable, reader.ImageInvalid) as error:
            raise ImageNotReadable(str(error)) from None
        response = FileResponse(path.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class ImageFileApi(APIView):
    """The image the editor shows: the stored file when a browser shows it as the model sees
    it, else a high-quality JPEG of the oriented image; revalidated by its ETag."""

    @extend_schema(
        responses={
            **{(200, kind): OpenApiTypes.BINARY for kind in editor_file.SHOWN_AS_IS.values()},
            304: OpenApiResponse(description="Not modified: the ETag named is still current."),
            409: ErrorOutput,
        }
    )
    def get(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id)
        try:
            shown = editor_file.editor_file(image)
        except (reader.ImageUnavailable, reader.ImageInvalid) as error:
            raise ImageNotReadable(str(error)) from None
        if editor_file.etag_matches(request.headers.get("If-None-Match", ""), shown.etag):
            response = HttpResponseNotModified()
        else:
            response = HttpResponse(shown.data, content_type=shown.content_type)
        response["Cache-Control"] = f"private, max-age={EDITOR_FILE_MAX_AGE}"
        response["ETag"] = shown.etag
        return response
