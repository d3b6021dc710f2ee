"""REST endpoints: model list, download, load, current model, predict, automask, the pool's
embedding preparation.

Long operations answer 202 with the job; its progress arrives on the project WebSocket
(`job.progress` events) and at /api/jobs/<id>/.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from inference import selectors, serializers
from inference.prompts import PromptInput
from inference.services import automask, downloads, embeddings, loading, predictions
from projects import access, jobs
from projects.serializers import JobOutput


class ModelListApi(APIView):
    @extend_schema(
        responses=serializers.ModelOutput(many=True),
        description="Every model a project can load: SAM2.1 and SAM2 (tiny, small, base_plus, "
        "large; `base` is an alias of `base_plus` and listed once) and the weight-free "
        "`classic` backend. A `manual` checkpoint path inside the model folders can be "
        "loaded too.",
    )
    def get(self, request):
        return Response(serializers.ModelOutput(selectors.model_list(), many=True).data)


class ModelStateApi(APIView):
    @extend_schema(responses=serializers.ModelStateOutput)
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        return Response(selectors.project_model_state(project))


class ModelLoadApi(APIView):
    @extend_schema(request=serializers.ModelLoadInput, responses={202: JobOutput})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = serializers.ModelLoadInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = loading.model_load_start(
            project=project, user=request.user, choice=dict(data.validated_data)
        )
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ModelLoadCancelApi(APIView):
    @extend_schema(request=None, responses={200: JobOutput, 204: None})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        job = loading.model_load_cancel(project=project)
        if job is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(JobOutput(job).data)


class ModelDownloadApi(APIView):
    @extend_schema(request=serializers.ModelDownloadInput, responses={202: JobOutput})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = serializers.ModelDownloadInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = downloads.model_download_start(
            project=project, user=request.user, key=data.validated_data["key"]
        )
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ModelDownloadCancelApi(APIView):
    @extend_schema(request=serializers.ModelDownloadInput, responses={200: JobOutput, 204: None})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        key = str(request.data.get("key", "")) if hasattr(request.data, "get") else ""
        job = downloads.model_download_cancel(project=project, key=key)
        if job is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(JobOutput(job).data)


class PredictApi(APIView):
    # A prompt is JSON values (nested lists of numbers), read as the WebSocket reads it.
    parser_classes = [JSONParser]

    @extend_schema(
        request=serializers.PredictInput,
        responses=serializers.PredictionOutput,
        description="Masks for a prompt on the project's model, saved as a prediction record. "
        "Several boxes give one mask each (multimask off). The editor sends the same "
        "prompt as a `predict` message on the project WebSocket.",
    )
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        prompt = PromptInput.from_dict(request.data)
        result = predictions.prediction_run(image=image, user=request.user, prompt=prompt)
        return Response(serializers.PredictionOutput(result.as_dict()).data)


class AutomaskImageApi(APIView):
    @extend_schema(request=serializers.AutomaskImageInput, responses={202: JobOutput})
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        data = serializers.AutomaskImageInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = automask.automask_start(
            project=image.project,
            user=request.user,
            params=dict(data.validated_data.get("params", {})),
            image_ids=[image.pk],
        )
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class AutomaskPoolApi(APIView):
    @extend_schema(request=serializers.AutomaskPoolInput, responses={202: JobOutput})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = serializers.AutomaskPoolInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = automask.automask_start(
            project=project,
            user=request.user,
            params=dict(data.validated_data.get("params", {})),
            image_ids=data.validated_data.get("image_ids"),
        )
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class AutomaskCancelApi(APIView):
    @extend_schema(request=None, responses=JobOutput)
    def post(self, request, job_id: int):
        job = access.job_for_user(request.user, job_id, need="edit")
        jobs.job_cancel(job=job)
        return Response(JobOutput(job).data)


class AutomaskResumeApi(APIView):
    @extend_schema(request=None, responses={202: JobOutput})
    def post(self, request, job_id: int):
        job = access.job_for_user(request.user, job_id, need="edit")
        job = automask.automask_resume(job=job)
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class EmbeddingsApi(APIView):
    @extend_schema(
        request=serializers.EmbeddingsInput,
        responses={202: JobOutput},
        description="Prepare the SAM2 embeddings of the pool (or of `filter`: statuses, a "
        "source, images) on the project's model, unprocessed images first, then in "
        "navigation order, so each first click is as fast as the next. Images already "
        "prepared are skipped. A preparation under way for the same model and filter is "
        "answered instead of a second one; one for another model is cancelled. Cancel it "
        "at /api/jobs/<id>/cancel/, resume it at /api/embeddings/<id>/resume/; the project "
        "state's `embeddings_auto` starts it on its own when a model is loaded or images "
        "are added.",
    )
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = serializers.EmbeddingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = embeddings.embeddings_start(
            project=project,
            user=request.user,
            image_filter=dict(data.validated_data.get("filter", {})),
        )
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class EmbeddingsResumeApi(APIView):
    @extend_schema(request=None, responses={202: JobOutput})
    def post(self, request, job_id: int):
        job = access.job_for_user(request.user, job_id, need="edit")
        job = embeddings.embeddings_resume(job=job)
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)
