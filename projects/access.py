"""The one access check per object type, used by pages, the API and WebSocket consumers.

An outsider gets 404 for any object of a project they are not a member of, exactly as for an
object that does not exist; a member whose role is too low gets PermissionDenied (403).
Superusers administer the platform and act as owners of every project.
"""

import threading
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.http import Http404

from projects.models import (
    AutomaskRun,
    Credential,
    Image,
    Job,
    Label,
    MaskObject,
    Membership,
    Prediction,
    Project,
    Role,
    Source,
)

Need = Literal["view", "comment", "edit", "review", "own"]
M = TypeVar("M", bound=Model)

ROLES_FOR: dict[str, set[str]] = {
    "view": {Role.OWNER, Role.ANNOTATOR, Role.REVIEWER, Role.VIEWER},
    "comment": {Role.OWNER, Role.ANNOTATOR, Role.REVIEWER},
    "edit": {Role.OWNER, Role.ANNOTATOR},
    # Accepting and rejecting submitted images; a reviewer draws nothing.
    "review": {Role.OWNER, Role.REVIEWER},
    "own": {Role.OWNER},
}
WHAT_NEEDS = {
    "view": "view",
    "comment": "comment on images of",
    "edit": "change annotations in",
    "review": "review images of",
    "own": "manage",
}


def role_in_project(user, project_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.OWNER
    return (
        Membership.objects.filter(user=user, project_id=project_id)
        .values_list("role", flat=True)
        .first()
    )


def check_project_access(user, project_id: int, need: Need) -> str:
    """Return the user's role in the project, or raise Http404 / PermissionDenied."""
    return _check_role(role_in_project(user, project_id), need)


def _check_role(role: str | None, need: Need) -> str:
    if role is None:
        raise Http404("No such project, or you are not a member of it.")
    if role not in ROLES_FOR[need]:
        raise PermissionDenied(
            f"Your role in this project is {role}: it cannot {WHAT_NEEDS[need]} this project."
        )
    return role


def _object_for_user(queryset: QuerySet[M], user, pk, need: Need, project_path: str) -> M:
    """The object with the user's role in its project read by the same query."""
    if user.is_authenticated and not user.is_superuser:
        member = Membership.objects.filter(
            user=user, project_id=OuterRef(project_path.replace(".", "__"))
        )
        queryset = cast(
            "QuerySet[M]", queryset.annotate(_user_role=Subquery(member.values("role")[:1]))
        )
    try:
        obj = queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {queryset.model._meta.verbose_name}.") from None
    if not user.is_authenticated:
        role = None
    elif user.is_superuser:
        role = Role.OWNER
    else:
        role = getattr(obj, "_user_role", None)
    try:
        _check_role(role, need)
    except Http404:
        raise Http404(f"No such {queryset.model._meta.verbose_name}.") from None
    return obj


def project_for_user(user, project_id, *, need: Need = "view") -> Project:
    return _object_for_user(Project.objects.all(), user, project_id, need, "id")


def source_for_user(user, source_id, *, need: Need = "view") -> Source:
    return _object_for_user(
        Source.objects.select_related("project"), user, source_id, need, "project_id"
    )


def credential_for_user(user, credential_id, *, need: Need = "own") -> Credential:
    return _object_for_user(Credential.objects.all(), user, credential_id, need, "project_id")


def image_for_user(user, image_id, *, need: Need = "view") -> Image:
    """The image with its project and source, and the user's role, read by one query.

    Every click runs this check, so its SQL is written once per connection: the ORM would
    compile the same statement on every call, which costs several times what running it does
    (SQLite: 0.4 ms against 0.05 ms)."""
    try:
        pk = int(image_id)
    except (TypeError, ValueError):
        raise Http404("No such image.") from None
    if isinstance(image_id, float) or not -(2**63) <= pk < 2**63:
        raise Http404("No such image.")
    authenticated = user.is_authenticated
    found = _image_read().run(pk, user.pk if authenticated and not user.is_superuser else None)
    if found is None:
        raise Http404("No such image.")
    image, role = found
    if not authenticated:
        role = None
    elif user.is_superuser:
        role = Role.OWNER
    try:
        _check_role(role, need)
    except Http404:
        raise Http404("No such image.") from None
    return image


@dataclass(frozen=True)
class _ImageRead:
    """One image row joined to its project and source, with a member's role, as models."""

    connection: Any
    sql: str
    # Per model: its class, the slice of the row it owns, and each column's converters.
    parts: tuple[tuple[type[Model], slice, tuple[tuple[int, list, Any], ...]], ...]

    @classmethod
    def build(cls, connection) -> "_ImageRead":
        quote = connection.ops.quote_name
        aliases = {Image: "i", Project: "p", Source: "s"}
        columns, parts, start = [], [], 0
        for model, alias in aliases.items():
            fields = model._meta.concrete_fields
            converters = []
            for index, field in enumerate(fields):
                column = field.get_col(alias)
                found = connection.ops.get_db_converters(column) + column.get_db_converters(
                    connection
                )
                if found:
                    converters.append((start + index, found, column))
                columns.append(f"{alias}.{quote(field.column)}")
            parts.append((model, slice(start, start + len(fields)), tuple(converters)))
            start += len(fields)
        table = {m: quote(m._meta.db_table) for m in (Image, Project, Source, Membership)}
        role = (
            f"SELECT m.role FROM {table[Membership]} m "
            "WHERE m.user_id = %s AND m.project_id = i.project_id"
        )
        sql = (
            f"SELECT {', '.join(columns)}, ({role}) FROM {table[Image]} i "
            f"JOIN {table[Project]} p ON p.id = i.project_id "
            f"JOIN {table[Source]} s ON s.id = i.source_id WHERE i.id = %s"
        )
        return cls(connection, sql, tuple(parts))

    def run(self, pk: int, user_id: int | None) -> tuple[Image, str | None] | None:
        connection = self.connection
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [user_id, pk])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for _, _, converters in self.parts:
            for position, functions, column in converters:
                for function in functions:
                    values[position] = function(values[position], column, connection)
        image, project, source = (
            model.from_db(connection.alias, cast(Any, None), values[part])
            for model, part, _ in self.parts
        )
        Image.project.field.set_cached_value(image, project)
        Image.source.field.set_cached_value(image, source)
        return cast(Image, image), values[-1]


_reads = threading.local()


def _image_read() -> _ImageRead:
    # Per thread, like the connection whose operations the converters belong to.
    connection = connections[DEFAULT_DB_ALIAS]
    read = getattr(_reads, "image", None)
    if read is None or read.connection is not connection:
        read = _reads.image = _ImageRead.build(connection)
    return read


def label_for_user(user, label_id, *, need: Need = "view") -> Label:
    return _object_for_user(Label.objects.all(), user, label_id, need, "project_id")


def job_for_user(user, job_id, *, need: Need = "view") -> Job:
    job = Job.objects.filter(pk=job_id).first() if str(job_id).isdigit() else None
    if job is not None and job.project_id is None:
        # Jobs outside any project (model downloads) belong to whoever started them.
        if user.is_superuser or job.created_by_id == user.pk:
            return job
        raise Http404("No such job.")
    return _object_for_user(Job.objects.all(), user, job_id, need, "project_id")


def prediction_for_user(user, prediction_id, *, need: Need = "view") -> Prediction:
    return _object_for_user(
        Prediction.objects.select_related("image"), user, prediction_id, need, "image.project_id"
    )


def automask_run_for_user(user, run_id, *, need: Need = "view") -> AutomaskRun:
    return _object_for_user(
        AutomaskRun.objects.select_related("image"), user, run_id, need, "image.project_id"
    )


def mask_object_for_user(user, object_id, *, need: Need = "view") -> MaskObject:
    return _object_for_user(
        MaskObject.objects.select_related("image"), user, object_id, need, "image.project_id"
    )
