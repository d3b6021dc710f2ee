"""REST for the activity log, the project dashboard and ground truth."""

import csv
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.ids import query_id
from annotator.pagination import Pages
from projects import access
from projects.models import ActivityEvent, Role
from projects.quality import selectors, services
from projects.quality.serializers import (
    ActivityOutput,
    DashboardOutput,
    GroundTruthInput,
    GroundTruthOutput,
    GroundTruthRemoveInput,
    GroundTruthRemoveOutput,
)

ACTION_MAX = 32
CSV_LINES_PER_CHUNK = 1000
CSV_COLUMNS = ["id", "at", "user", "action", "image_id", "image", "object_id", "data"]
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

FILTERS = [
    OpenApiParameter("user", OpenApiTypes.INT, description="only this person's events"),
    OpenApiParameter("action", OpenApiTypes.STR, description='an action, or a prefix: "object."'),
    OpenApiParameter("image", OpenApiTypes.INT),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="from (a date or a time)"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="before; a date: to its end"),
]


def _moment(params, name: str) -> dt.datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        moment = parse_datetime(raw)
        day = None if moment else parse_date(raw)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise serializers.ValidationError({name: ["Use a date (2026-12-01) or an ISO time."]})
    if moment is None:
        assert day is not None
        moment = dt.datetime.combine(day, dt.time())
        if name == "until":
            moment += dt.timedelta(days=1)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)


def _filters(params) -> selectors.ActivityFilters:
    action = (params.get("action") or "").strip()
    if len(action) > ACTION_MAX:
        raise serializers.ValidationError({"action": [f"At most {ACTION_MAX} characters."]})
    return selectors.ActivityFilters(
        user_id=query_id(params, "user"),
        action=action,
        image_id=query_id(params, "image"),
        since=_moment(params, "since"),
        until=_moment(params, "until"),
    )


def _log_role(user, project_id: int) -> str:
    """The reader's role, for the people who work on the project: a viewer reads no log."""
    role = access.check_project_access(user, project_id, "view")
    if role == Role.VIEWER:
        raise PermissionDenied("Your role in this project is viewer: it cannot read the activity.")
    return role


class ProjectActivityApi(APIView):
    """The project's activity, newest first. Owners and reviewers read everyone's events;
    an annotator reads their own."""

    pagination_class = Pages

    @extend_schema(parameters=FILTERS, responses=ActivityOutput(many=True))
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        role = _log_role(request.user, project.pk)
        events = selectors.project_activity(
            project=project, user=request.user, role=role, filters=_filters(request.query_params)
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(ActivityOutput(page, many=True).data)


class ImageActivityApi(APIView):
    """One image's activity, newest first; an annotator reads their own events."""

    pagination_class = Pages

    @extend_schema(responses=ActivityOutput(many=True))
    def get(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id)
        role = _log_role(request.user, image.project_id)
        events = selectors.image_activity(image=image, user=request.user, role=role)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(ActivityOutput(page, many=True).data)


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_row(event: ActivityEvent) -> list[str]:
    return [
        _cell(event.pk),
        _cell(event.at.isoformat()),
        _cell(event.user.username if event.user else ""),
        _cell(event.action),
        _cell(event.image_id),
        _cell(event.image.display_name if event.image else ""),
        _cell(event.object_id),
        _cell(json.dumps(event.data, sort_keys=True)),
    ]


class _Line:
    def write(self, value: str) -> str:
        return value


def csv_lines(events) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(_csv_row(event))


def _chunks(lines: Iterator[str]) -> AsyncIterator[str]:
    """The lines for an ASGI server, read in the request's thread a chunk at a time: Django
    would otherwise read a synchronous iterator whole before sending anything."""
    read = sync_to_async(lambda: "".join(islice(lines, CSV_LINES_PER_CHUNK)))

    async def chunks() -> AsyncIterator[str]:
        while chunk := await read():
            yield chunk

    return chunks()


class ActivityCsvApi(APIView):
    """Every event of the project as CSV, oldest first, one row per event (owners)."""

    @extend_schema(parameters=FILTERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        filters = _filters(request.query_params)
        events = selectors.activity_for_export(project=project, filters=filters)
        lines = csv_lines(events)
        streamed = _chunks(lines) if isinstance(request._request, ASGIRequest) else lines
        response = StreamingHttpResponse(streamed, content_type="text/csv")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = (
            f'attachment; filename="activity-project-{project.pk}-{stamp}.csv"'
        )
        return response


class DashboardApi(APIView):
    """Per annotator: images completed, objects made, time spent, rejection rate, the
    ground-truth score and a daily series (owners and reviewers)."""

    @extend_schema(responses=DashboardOutput)
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="review")
        return Response(DashboardOutput(selectors.project_dashboard(project=project)).data)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _as_images_field(error: ValidationError) -> serializers.ValidationError:
    messages = error.message_dict.get("image_ids") if hasattr(error, "error_dict") else None
    return serializers.ValidationError({"images": messages or error.messages})


class GroundTruthApi(APIView):
    """Make completed (with a review stage: accepted) images ground truth: their objects
    become the reference. All or nothing."""

    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("image", OpenApiTypes.INT, description="Only this image's flags.")
        ],
        responses=GroundTruthOutput,
        description="The project's ground-truth images (or one image's flags, ground truth "
        "or not) and how many reference objects each has.",
    )
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        image_id = query_id(request.query_params, "image")
        if image_id is None:
            ids = selectors.ground_truth_ids(project=project)
        elif selectors.images_not_in(project=project, image_ids=[image_id]):
            raise serializers.ValidationError({"image": ["Not an image of this project."]})
        else:
            ids = [image_id]
        return Response(GroundTruthOutput({"images": selectors.ground_truth_rows(ids)}).data)

    @extend_schema(request=GroundTruthInput, responses=GroundTruthOutput)
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = _valid(GroundTruthInput, request)
        try:
            images = services.ground_truth_mark(
                project=project,
                user=request.user,
                image_ids=data["images"],
                honeypot=data["honeypot"],
            )
        except ValidationError as error:
            raise _as_images_field(error) from None
        body = {"images": selectors.ground_truth_rows([i.pk for i in images])}
        return Response(GroundTruthOutput(body).data)


class GroundTruthRemoveApi(APIView):
    """Make images ordinary again: their reference and scores go. All or nothing: every
    image must belong to the project."""

    parser_classes = [JSONParser]

    @extend_schema(request=GroundTruthRemoveInput, responses=GroundTruthRemoveOutput)
    def post(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id, need="own")
        data = _valid(GroundTruthRemoveInput, request)
        missing = selectors.images_not_in(project=project, image_ids=data["images"])
        if missing:
            raise serializers.ValidationError(
                {"images": [f"Not images of this project: {missing[:10]}."]}
            )
        removed = services.ground_truth_unmark(
            project=project, user=request.user, image_ids=data["images"]
        )
        return Response(GroundTruthRemoveOutput({"removed": removed}).data)
