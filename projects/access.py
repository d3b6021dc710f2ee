"""The one access check per object type, used by pages, the API and WebSocket consumers.

An outsider gets 404 for any object of a project they are not a member of, exactly as for an
object that does not exist; a member whose role is too low gets PermissionDenied (403).
Superusers administer the platform and act as owners of every project.
"""

from typing import Literal

from django.core.exceptions import PermissionDenied
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

Need = Literal["view", "edit", "own"]

ROLES_FOR: dict[str, set[str]] = {
    "view": {Role.OWNER, Role.ANNOTATOR, Role.VIEWER},
    "edit": {Role.OWNER, Role.ANNOTATOR},
    "own": {Role.OWNER},
}
WHAT_NEEDS = {
    "view": "view",
    "edit": "change annotations in",
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


def _object_for_user(queryset: QuerySet, user, pk, need: Need, project_path: str) -> Model:
    """The object with the user's role in its project read by the same query."""
    if user.is_authenticated and not user.is_superuser:
        member = Membership.objects.filter(
            user=user, project_id=OuterRef(project_path.replace(".", "__"))
        )
        queryset = queryset.annotate(_user_role=Subquery(member.values("role")[:1]))
    try:
        obj = queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {queryset.model._meta.verbose_name}.") from None
    if not user.is_authenticated:
        role = None
    elif user.is_superuser:
        role = Role.OWNER
    else:
        role = obj._user_role
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
    return _object_for_user(
        Image.objects.select_related("source", "project"), user, image_id, need, "project_id"
    )


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
