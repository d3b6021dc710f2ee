"""REST endpoints for projects, members, labels, the project state, sources, images, jobs.

Each view checks access through projects.access, validates with an input serializer, calls a
service or selector and shapes the output.
"""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.pagination import Pages
from inference.serializers import AutomaskParamsInput
from inference.services import embeddings
from projects import access, jobs, selectors, services
from projects.serializers import (
    ImageOutput,
    JobOutput,
    LabelSerializer,
    LabelUpdateInput,
    MemberInput,
    MemberOutput,
    MemberRoleInput,
    ProjectCreateInput,
    ProjectOutput,
    ProjectStateInput,
    ProjectStateOutput,
    ProjectUpdateInput,
)


class ProjectListApi(APIView):
    @extend_schema(responses=ProjectOutput(many=True))
    def get(self, request):
        projects = selectors.projects_for_user(request.user)
        return Response(ProjectOutput(projects, many=True).data)

    @extend_schema(request=ProjectCreateInput, responses={201: ProjectOutput})
    def post(self, request):
        data = ProjectCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(owner=request.user, **data.validated_data)
        return Response(ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    @extend_schema(responses=ProjectOutput)
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        role = selectors.project_role(project, request.user)
        return Response({**ProjectOutput(project).data, "role": role})

    @extend_schema(request=ProjectUpdateInput, responses=ProjectOutput)
    def patch(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = ProjectUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        project = services.project_update(project=project, **data.validated_data)
        return Response(ProjectOutput(project).data)

    @extend_schema(responses={204: None})
    def delete(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        project.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectStateApi(APIView):
    """The project settings, shared by every member: `export_settings` (merged key by key),
    `automask_params` (replaced whole; the automask route's options), `embeddings_auto`
    (prepare the pool's embeddings on their own) and `model_selection` (read only: loading
    a model writes it). Annotators and owners write them; viewers
    read them.

    Each user's view settings (tool, opacity, brush size, panels, pool filters) are not
    project settings: they are at /api/projects/<id>/my-settings/. For older clients this
    route still takes `ui_settings`: its `automask_params` is the project setting, and every
    other key goes to the caller's own view settings, checked as there (a bad key or value
    is a 400 naming `ui_settings.<key>`). The answer's `ui_settings` is, likewise, the
    caller's view settings with the project's automask parameters."""

    def _answer(self, request, project):
        context = {
            "automask_params": services.project_automask_params(project),
            "view_settings": services.user_settings_for(user=request.user, project=project),
        }
        return Response(ProjectStateOutput(project, context=context).data)

    @extend_schema(responses=ProjectStateOutput)
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        return self._answer(request, project)

    @extend_schema(request=ProjectStateInput, responses=ProjectStateOutput)
    def patch(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = ProjectStateInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        view_changes = changes.pop("view_settings", None)
        if "automask_params" in changes:
            changes["automask_params"] = _automask_params(changes["automask_params"])
        project = services.project_state_update(
            project=project, changes=changes, user=request.user, view_changes=view_changes
        )
        if changes.get("embeddings_auto") is True:
            embeddings.embeddings_auto_start(project_id=project.pk)
        return self._answer(request, project)


def _automask_params(params) -> dict:
    """The project's automask parameters: the automask route's options, and no others."""
    if not isinstance(params, dict):
        raise ValidationError({"automask_params": ["Must be a JSON object."]})
    unknown = sorted(str(key)[:100] for key in set(params) - set(AutomaskParamsInput().fields))
    if unknown:
        raise ValidationError({"automask_params": {key: "Unknown parameter." for key in unknown}})
    data = AutomaskParamsInput(data=params)
    if not data.is_valid():
        raise ValidationError({"automask_params": data.errors})
    return dict(data.validated_data)


class MySettingsApi(APIView):
    """The caller's own view settings in this project, saved per user: what one member
    picks never changes what another sees. Any member may read and write their own,
    viewers included; an outsider gets 404 as on every project route.

    The body is a JSON object of view settings; PATCH merges its keys into the saved ones
    and answers with all of them; a null value removes a key (back to the default). The
    keys are a closed set, each checked (an unknown key or a bad value is a 400 that names
    it, `pool_filters.<name>` inside the filters):

    - `tool`: the editor's tool, one of point, box, select, brush, eraser, polygon, automask
    - `opacity`: the overlay's opacity, a number from 0 to 1
    - `brush_size`: the brush diameter in image pixels, a whole number from 1 to 200
    - `panels`: the editor's side panels, "shown" or "hidden"
    - `pool_filters`: the project page's pool filters, {status, source, available,
      search, has_automask, has_manual_prediction, has_manual_edit, completed}: status "",
      unprocessed, in_progress or completed; source "" or a source id as digits; search
      at most 200 characters; each of the others "", "true" or "false"
    - `browser_decoder`, `hover_preview`: true or false
    """

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        return Response(services.user_settings_for(user=request.user, project=project))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        saved = services.user_settings_update(
            user=request.user, project=project, changes=request.data
        )
        return Response(saved)


class MemberListApi(APIView):
    @extend_schema(responses=MemberOutput(many=True))
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        return Response(MemberOutput(selectors.project_members(project), many=True).data)

    @extend_schema(request=MemberInput, responses={201: MemberOutput})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = MemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_set(
            project=project, user=data.validated_data["username"], role=data.validated_data["role"]
        )
        return Response(MemberOutput(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    def _user(self, user_id: int):
        return get_object_or_404(get_user_model(), pk=user_id)

    @extend_schema(request=MemberRoleInput, responses=MemberOutput)
    def patch(self, request, project_id: int, user_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = MemberRoleInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_set(
            project=project, user=self._user(user_id), role=data.validated_data["role"]
        )
        return Response(MemberOutput(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, project_id: int, user_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        services.member_remove(project=project, user=self._user(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LabelListApi(APIView):
    @extend_schema(responses=LabelSerializer(many=True))
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        return Response(LabelSerializer(selectors.project_labels(project), many=True).data)

    @extend_schema(request=LabelSerializer, responses={201: LabelSerializer})
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = LabelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = services.label_create(project=project, **data.validated_data)
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)


class LabelDetailApi(APIView):
    @extend_schema(request=LabelUpdateInput, responses=LabelSerializer)
    def patch(self, request, label_id: int):
        label = access.label_for_user(request.user, label_id, need="edit")
        data = LabelUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        label = services.label_update(label=label, **data.validated_data)
        return Response(LabelSerializer(label).data)

    @extend_schema(responses={204: None})
    def delete(self, request, label_id: int):
        label = access.label_for_user(request.user, label_id, need="edit")
        label.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImageListApi(APIView):
    pagination_class = Pages

    @extend_schema(responses=ImageOutput(many=True))
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.pool_images(project), request, view=self)
        return paginator.get_paginated_response(ImageOutput(page, many=True).data)


class ImageDetailApi(APIView):
    @extend_schema(responses=ImageOutput)
    def get(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id)
        return Response(ImageOutput(image).data)


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutput)
    def get(self, request, job_id: int):
        job = access.job_for_user(request.user, job_id)
        return Response(JobOutput(job).data)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses=JobOutput)
    def post(self, request, job_id: int):
        job = access.job_for_user(request.user, job_id, need="edit")
        jobs.job_cancel(job=job)
        return Response(JobOutput(job).data)
