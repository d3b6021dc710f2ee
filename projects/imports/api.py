"""REST endpoint that starts an import; the job is read through the jobs routes."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import access
from projects.imports import services
from projects.imports.serializers import ImportJobOutput, ImportStartInput


class ImportStartApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImportStartInput},
        responses={202: ImportJobOutput},
        operation_id="project_import_start",
        description=(
            "Import annotations into the project's pool, matched to its images by file name "
            "or path. Starts a job: follow it at /api/jobs/<id>/; its result is the report "
            "(created objects per image, labels made, unmatched images and labels, refused "
            "annotations with the reason)."
        ),
    )
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = ImportStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.import_start(
            project=project,
            user=request.user,
            upload=data.validated_data["file"],
            format=data.validated_data["format"],
            mode=data.validated_data["mode"],
            create_labels=data.validated_data["create_labels"],
        )
        return Response(ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)
