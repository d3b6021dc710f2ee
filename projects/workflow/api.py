"""REST for the annotation workflow: open, edit, undo, complete, navigate, overview."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api_schema import ApiSchema
from annotator.ids import query_id
from annotator.pagination import Pages
from projects import access
from projects.models import AutomaskMask, EditStep, ImageStatus, MaskObject, Role
from projects.serializers import ImageOutput
from projects.workflow import claims, selectors, services
from projects.workflow.masks import mask_from_client, polygon_mask
from projects.workflow.serializers import (
    AssignInput,
    AssignmentsOutput,
    AssignOutput,
    ChooseInput,
    CompleteAndNextOutput,
    CompleteInput,
    ConflictOutput,
    HistoryOutput,
    ImageStateOutput,
    KeepEachInput,
    ObjectChangeOutput,
    ObjectCreateInput,
    ObjectsChangeOutput,
    ObjectUpdateInput,
    OpenOutput,
    PromoteInput,
    RecordsOutput,
    StepOutput,
    TravelOutput,
    UnassignInput,
    UnassignOutput,
    VersionInput,
)


class WorkflowSchema(ApiSchema):
    def error_answers(self, operation):
        answers = super().error_answers(operation)
        if self.method != "GET":
            answers.append(("409", ConflictOutput, "The image changed, or cannot be read now."))
        return answers


class WorkflowApi(APIView):
    """A stale write is answered with the image's current state, so that the client can
    re-apply its change on it."""

    schema = WorkflowSchema()

    def handle_exception(self, exc):
        if isinstance(exc, services.StaleVersion):
            exc.current = {
                "image": ImageStateOutput(exc.image).data,
                "records": RecordsOutput(selectors.image_records(exc.image)).data,
            }
        return super().handle_exception(exc)

    def valid(self, serializer_class, request) -> dict:
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data


def change(image, obj) -> Response:
    return Response(
        ObjectChangeOutput({"image": image, "object": obj}).data, status=status.HTTP_200_OK
    )


class ImageOpenApi(WorkflowApi):
    @extend_schema(request=None, responses=OpenOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id)
        opened = services.image_open(image=image, user=request.user)
        opened.image.held_by = opened.held_by
        position, total = selectors.pool_position(opened.image)
        return Response(
            OpenOutput(
                {
                    "image": opened.image,
                    "held_by": opened.held_by,
                    "position": position,
                    "total": total,
                    "records": selectors.image_records(opened.image),
                    **selectors.undo_state(image=opened.image, user=request.user),
                }
            ).data
        )


class ImageRecordsApi(WorkflowApi):
    @extend_schema(responses=RecordsOutput)
    def get(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id)
        return Response(RecordsOutput(selectors.image_records(image)).data)


class ObjectCreateApi(WorkflowApi):
    @extend_schema(request=ObjectCreateInput, responses={201: ObjectChangeOutput})
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        data = self.valid(ObjectCreateInput, request)
        if "mask" in data:
            mask = mask_from_client(data["mask"], image=image)
        else:
            mask = polygon_mask(data["points"], image=image)
        obj = services.object_create(
            image=image,
            user=request.user,
            version=data["version"],
            mask=mask,
            label_id=data.get("label_id"),
            name=data["name"],
        )
        response = change(obj.image, obj)
        response.status_code = status.HTTP_201_CREATED
        return response


class ObjectDetailApi(WorkflowApi):
    @extend_schema(request=ObjectUpdateInput, responses=ObjectChangeOutput)
    def patch(self, request, object_id: int):
        obj = access.mask_object_for_user(request.user, object_id, need="edit")
        data = self.valid(ObjectUpdateInput, request)
        common = {"obj": obj, "user": request.user, "version": data["version"]}
        op = data["op"]
        if op in ("brush", "eraser", "polygon"):
            if "points" in data:
                region = polygon_mask(data["points"], image=obj.image)
            else:
                region = mask_from_client(data["region"], image=obj.image, field="region")
            obj = services.object_paint(**common, kind=op, region=region)
        elif op == "replace":
            mask = mask_from_client(data["mask"], image=obj.image)
            obj = services.object_update(**common, kind=EditStep.Kind.REPLACE, mask=mask)
        else:
            label = {"label_id": data["label_id"]} if "label_id" in data else {}
            obj = services.object_update(
                **common, kind=EditStep.Kind.LABEL, name=data.get("name"), **label
            )
        return change(obj.image, obj)

    @extend_schema(request=VersionInput, responses={200: ObjectChangeOutput})
    def delete(self, request, object_id: int):
        obj = access.mask_object_for_user(request.user, object_id, need="edit")
        data = self.valid(VersionInput, request)
        image = services.object_delete(obj=obj, user=request.user, version=data["version"])
        return change(image, None)


class PredictionChooseApi(WorkflowApi):
    @extend_schema(request=ChooseInput, responses=ObjectChangeOutput)
    def post(self, request, prediction_id: int):
        prediction = access.prediction_for_user(request.user, prediction_id, need="edit")
        data = self.valid(ChooseInput, request)
        target = None
        if data.get("object_id") is not None:
            target = MaskObject.objects.filter(pk=data["object_id"]).first()
            if target is None or target.image_id != prediction.image_id:
                raise serializers.ValidationError({"object_id": "No such object on this image."})
        obj = services.prediction_choose(
            prediction=prediction,
            user=request.user,
            version=data["version"],
            index=data["index"],
            label_id=data.get("label_id"),
            target=target,
        )
        return change(obj.image, obj)


class PredictionKeepEachApi(WorkflowApi):
    @extend_schema(request=KeepEachInput, responses=ObjectsChangeOutput)
    def post(self, request, prediction_id: int):
        """Keep each mask of a several-box prediction as its own object (one per box)."""
        prediction = access.prediction_for_user(request.user, prediction_id, need="edit")
        data = self.valid(KeepEachInput, request)
        objects = services.prediction_keep_each(
            prediction=prediction,
            user=request.user,
            version=data["version"],
            label_id=data.get("label_id"),
        )
        image = prediction.image
        image.refresh_from_db()
        return Response(ObjectsChangeOutput({"image": image, "objects": objects}).data)


class AutomaskPromoteApi(WorkflowApi):
    @extend_schema(request=PromoteInput, responses=ObjectsChangeOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        data = self.valid(PromoteInput, request)
        masks = AutomaskMask.objects.select_related("run").filter(run__image=image)
        if "run_id" in data:
            masks = masks.filter(run_id=data["run_id"])
        else:
            masks = masks.filter(pk__in=data["mask_ids"])
            if masks.count() != len(set(data["mask_ids"])):
                raise serializers.ValidationError(
                    {"mask_ids": "Some of those automask results are not on this image."}
                )
        objects = services.automask_promote(
            image=image,
            user=request.user,
            version=data["version"],
            masks=masks,
            label_id=data.get("label_id"),
        )
        image.refresh_from_db()
        return Response(ObjectsChangeOutput({"image": image, "objects": objects}).data)


class _TravelApi(WorkflowApi):
    travel = None

    @extend_schema(request=VersionInput, responses=TravelOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        data = self.valid(VersionInput, request)
        image = type(self).travel(image=image, user=request.user, version=data["version"])
        objects = MaskObject.objects.filter(image=image).select_related("label")
        return Response(
            TravelOutput(
                {
                    "image": image,
                    "objects": objects,
                    **selectors.undo_state(image=image, user=request.user),
                }
            ).data
        )


class UndoApi(_TravelApi):
    travel = services.edit_undo


class RedoApi(_TravelApi):
    travel = services.edit_redo


class ImageCompleteApi(WorkflowApi):
    @extend_schema(request=CompleteInput, responses=ImageStateOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        data = self.valid(CompleteInput, request)
        image = services.image_set_completed(
            image=image, user=request.user, completed=data["completed"]
        )
        return Response(ImageStateOutput(image).data)


class CompleteAndNextApi(WorkflowApi):
    @extend_schema(request=None, responses=CompleteAndNextOutput)
    def post(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        image, following = services.image_complete_and_next(image=image, user=request.user)
        return Response(CompleteAndNextOutput({"completed": image, "next": following}).data)


class NavigateApi(WorkflowApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.INT, description="current image id"),
            OpenApiParameter(
                "direction", OpenApiTypes.STR, enum=["next", "previous", "next_unprocessed"]
            ),
        ],
        responses=StepOutput,
    )
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        direction = request.query_params.get("direction", "next")
        if direction not in ("next", "previous", "next_unprocessed"):
            raise serializers.ValidationError(
                {"direction": "Use next, previous or next_unprocessed."}
            )
        current_id = query_id(request.query_params, "from")
        if direction == "next_unprocessed":
            image = services.next_unprocessed_for(
                project=project, user=request.user, current_id=current_id
            )
        else:
            image = selectors.image_step(
                project=project, current_id=current_id, direction=direction
            )
        if image is not None:
            image.held_by = claims.held_by(image, request.user)
        position, total = selectors.pool_position(image) if image else (None, None)
        if total is None:
            total = selectors.navigable(project.pk).count()
        return Response(StepOutput({"image": image, "position": position, "total": total}).data)


class HistoryApi(WorkflowApi):
    @extend_schema(responses=HistoryOutput(many=True))
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        entries = selectors.user_history(project=project, user=request.user)
        return Response(HistoryOutput(entries, many=True).data)


def _flag(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise serializers.ValidationError({name: "Use true or false."})


class OverviewApi(WorkflowApi):
    pagination_class = Pages

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=ImageStatus.values),
            OpenApiParameter("source", OpenApiTypes.INT),
            OpenApiParameter("available", OpenApiTypes.BOOL),
            OpenApiParameter("search", OpenApiTypes.STR),
            OpenApiParameter("open_issues", OpenApiTypes.BOOL),
            *[OpenApiParameter(flag, OpenApiTypes.BOOL) for flag in selectors.OVERVIEW_FLAGS],
        ],
        responses=ImageOutput(many=True),
    )
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        query = request.query_params
        status_filter = query.get("status") or None
        if status_filter and status_filter not in ImageStatus.values:
            raise serializers.ValidationError(
                {"status": f"Use one of {', '.join(ImageStatus.values)}."}
            )
        source_id = query_id(query, "source")
        flags = {f: _flag(query.get(f), f) for f in selectors.OVERVIEW_FLAGS}
        images = selectors.pool_overview(
            project=project,
            status=status_filter,
            source_id=source_id,
            available=_flag(query.get("available"), "available"),
            flags={f: v for f, v in flags.items() if v is not None},
            search=query.get("search", "").strip(),
            open_issues=_flag(query.get("open_issues"), "open_issues"),
        )
        paginator = self.pagination_class()
        ids = paginator.paginate_queryset(images.values_list("id", flat=True), request, self)
        page = selectors.images_by_id(ids)
        return paginator.get_paginated_response(ImageOutput(page, many=True).data)


class AssignmentsApi(WorkflowApi):
    """An owner hands images to annotators: listed ids, a filter of the pool, or either split
    evenly among several people; `dry_run` says who would get how many first. GET says how
    many images each person is assigned (only the caller's own, for those not owning)."""

    # Long id lists and nested filters are JSON, never form fields.
    parser_classes = [JSONParser]

    @extend_schema(responses=AssignmentsOutput)
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        images = selectors.navigable(project.pk)
        owner = access.role_in_project(request.user, project.pk) == Role.OWNER
        summary = {
            "mine": claims.assigned_to(project, images, request.user),
            "people": claims.assigned_counts(project, images) if owner else [],
            "unassigned": claims.unassigned_to_do(project, images) if owner else None,
        }
        return Response(AssignmentsOutput(summary).data)

    @extend_schema(request=AssignInput, responses=AssignOutput)
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = self.valid(AssignInput, request)
        ids = self._scope(project, data)
        if "split" in data:
            users = [claims.assignee(project, name) for name in data["split"]]
        else:
            users = [claims.assignee(project, data["user"])]
        if data["dry_run"]:
            plan = claims.split_plan(users, ids)
            counts = {user.username: len(part) for user, part in plan}
            return Response(AssignOutput({"assigned": counts, "dry_run": True}).data)
        counts = claims.assign_split(project=project, by=request.user, users=users, image_ids=ids)
        return Response(AssignOutput({"assigned": counts}).data)

    @extend_schema(request=UnassignInput, responses=UnassignOutput)
    def delete(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = self.valid(UnassignInput, request)
        names = [data["user"]] if "user" in data else data.get("users")
        users = [claims.assignee_known(name) for name in names] if names else None
        ids = self._scope(project, data) if {"image_ids", "filter"} & set(data) else None
        if data["dry_run"]:
            counts = claims.taken_back(claims.assignments_in(project, image_ids=ids, users=users))
        else:
            counts = claims.unassign(project=project, by=request.user, image_ids=ids, users=users)
        answer = {"unassigned": sum(counts.values()), "taken_from": counts}
        if data["dry_run"]:
            answer["dry_run"] = True
        return Response(UnassignOutput(answer).data)

    @staticmethod
    def _scope(project, data: dict) -> list[int]:
        """The images asked for: listed ids, a filter's, or the whole pool."""
        if "image_ids" in data:
            return claims.images_of_project(project, data["image_ids"])
        filters = data.get("filter") or {}
        images = claims.pool_filtered(project, selectors.navigable(project.pk), filters)
        return list(images.values_list("id", flat=True))
