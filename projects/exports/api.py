"""REST endpoints for exports and the project archive."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import access
from projects.exports import services
from projects.exports.archive import ArchiveError
from projects.exports.formats import ARCHIVE
from projects.exports.restore import archive_import
from projects.exports.serializers import (
    ArchiveRestoreInput,
    ArchiveUploadInput,
    ExportJobOutput,
    ExportStartInput,
)
from projects.models import Job
from projects.serializers import ProjectOutput

FILE = OpenApiResponse(description="the exported file, as an attachment")
# The archive is the whole project, ground truth and honeypots included: for owners only.
ARCHIVE_OWNERS_ONLY = (
    "Only the project's owners can export the project archive: it holds the whole project."
)


class ExportStartApi(APIView):
    @extend_schema(
        request=ExportStartInput,
        responses={200: FILE, 202: ExportJobOutput},
        description=(
            "Export masks. One image is answered at once with the file; a pool or a filter "
            "starts a job whose progress is published to the project's channel and whose "
            "file is fetched from download_url once done."
        ),
    )
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        data = ExportStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        scope, options = services.export_choices(project=project, data=data.validated_data)
        role = access.role_in_project(request.user, project.pk)
        if options.format == ARCHIVE and role not in access.ROLES_FOR["own"]:
            raise PermissionDenied(ARCHIVE_OWNERS_ONLY)
        remember = role in access.ROLES_FOR["edit"]
        if scope.kind == "image":
            content, name, kind = services.export_inline(
                project=project, user=request.user, scope=scope, options=options, remember=remember
            )
            response = HttpResponse(content, content_type=kind)
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        job = services.export_start(
            project=project, user=request.user, scope=scope, options=options, remember=remember
        )
        return Response(ExportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


def _export_job(user, job_id: int) -> Job:
    job = access.job_for_user(user, job_id)
    if job.kind != Job.Kind.EXPORT:
        raise NotFound("No such export.")
    return job


class ExportJobApi(APIView):
    @extend_schema(responses=ExportJobOutput)
    def get(self, request, job_id: int):
        return Response(ExportJobOutput(_export_job(request.user, job_id)).data)


class ExportDownloadApi(APIView):
    @extend_schema(responses={200: FILE})
    def get(self, request, job_id: int):
        job = _export_job(request.user, job_id)
        path = services.export_file(job)
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=job.result.get("filename", path.name),
            content_type=job.result.get("content_type"),
        )


def _uploaded_path(upload, folder: str) -> Path:
    """The upload as a file on disk, refused before reading when over the size limit."""
    limit = settings.ANNOTATOR_ARCHIVE_MAX_MB * 2**20
    if upload.size > limit:
        raise ArchiveError(
            f"The archive is {upload.size / 2**20:.1f} MiB; this server accepts archives up "
            f"to {settings.ANNOTATOR_ARCHIVE_MAX_MB} MiB."
        )
    if hasattr(upload, "temporary_file_path"):
        return Path(upload.temporary_file_path())
    path = Path(folder) / "upload.zip"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


class ProjectArchiveApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        responses={200: OpenApiResponse(description="the project archive (zip)")},
        operation_id="project_archive_download",
        description="Download the project as one versioned archive (no secrets, no pixels).",
    )
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        handle, name = services.archive_export(project=project)
        return FileResponse(handle, as_attachment=True, filename=name)

    @extend_schema(
        request={"multipart/form-data": ArchiveRestoreInput},
        responses=ProjectOutput,
        operation_id="project_archive_restore",
        description="Replace this project's contents with an archive's; members stay.",
    )
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = ArchiveRestoreInput(data=request.data)
        data.is_valid(raise_exception=True)
        with tempfile.TemporaryDirectory() as folder:
            path = _uploaded_path(data.validated_data["file"], folder)
            project = archive_import(path=path, user=request.user, project=project)
        return Response(ProjectOutput(project).data)


class ArchiveUploadApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ArchiveUploadInput},
        responses={201: ProjectOutput},
        operation_id="project_archive_upload",
        description="Create a project from an archive; the uploader owns it.",
    )
    def post(self, request):
        data = ArchiveUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        with tempfile.TemporaryDirectory() as folder:
            path = _uploaded_path(data.validated_data["file"], folder)
            project = archive_import(
                path=path, user=request.user, name=data.validated_data.get("name")
            )
        return Response(ProjectOutput(project).data, status=status.HTTP_201_CREATED)
