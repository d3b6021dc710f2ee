"""REST endpoints for projects, members, labels, the project state, sources, images, jobs.

Each view checks access through projects.access, validates with an input serializer, calls a
service or selector and shapes the output.
"""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.pagination import Pages
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
    @extend_schema(responses=ProjectStateOutput)
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        return Response(ProjectStateOutput(project).data)

    @extend_schema(request=ProjectStateInput, responses=ProjectStateOutput)
    def patch(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="edit")
        data = ProjectStateInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_state_update(project=project, changes=data.validated_data)
        return Response(ProjectStateOutput(project).data)


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
