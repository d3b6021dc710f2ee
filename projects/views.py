"""Pages. The editor and the richer HTMX panels build on these."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotator.ids import parse_id
from projects import access, selectors, services
from projects.models import ImageStatus, Role
from projects.workflow.selectors import (
    OVERVIEW_FLAGS,
    image_step,
    images_by_id,
    pool_overview,
)
from projects.workflow.services import next_unprocessed_for


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            project = services.project_create(
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
                owner=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("projects:list")
        return redirect("projects:detail", project_id=project.pk)
    projects = selectors.projects_for_user(request.user)
    return render(request, "projects/list.html", {"projects": projects})


@login_required
@require_GET
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = access.project_for_user(request.user, project_id)
    role = selectors.project_role(project, request.user)
    can_edit = role in (Role.OWNER, Role.ANNOTATOR)
    automask_params = services.project_automask_params(project)
    view = services.user_settings_for(user=request.user, project=project)
    context = {
        "project": project,
        "role": role,
        "can_edit": can_edit,
        "sources": selectors.project_sources(project),
        "labels": selectors.project_labels(project),
        "folder_roots": [str(root) for root in settings.ANNOTATOR_FOLDER_ROOTS],
        "automask_params": automask_params,
        "embeddings_auto": (project.ui_settings or {}).get("embeddings_auto") is True,
        "filters": view.get("pool_filters", {}),
        "status_choices": [
            ("unprocessed", "Unprocessed (white)"),
            ("in_progress", "In progress (yellow)"),
            ("completed", "Completed (green)"),
        ],
        "config": {
            "project": project.pk,
            "role": role,
            "username": request.user.username,
            "exportSettings": project.export_settings,
            "automaskParams": automask_params,
        },
    }
    return render(request, "projects/detail.html", context)


POOL_PAGE = 48
YES_NO = {"true": True, "false": False}


@login_required
@require_GET
def pool_panel(request: HttpRequest, project_id: int) -> HttpResponse:
    """The pool overview as a thumbnail grid, filtered and paged (an HTMX partial)."""
    project = access.project_for_user(request.user, project_id)
    query = request.GET
    status = query.get("status") if query.get("status") in ImageStatus.values else None
    available = {"true": True, "false": False}.get(query.get("available", ""))
    # The A, P, E (and completed) flags: "true" or "false"; anything else does not filter.
    flags = {flag: YES_NO[query[flag]] for flag in OVERVIEW_FLAGS if query.get(flag) in YES_NO}
    images = pool_overview(
        project=project,
        status=status,
        source_id=parse_id(query.get("source", "")),
        available=available,
        flags=flags,
        search=query.get("search", "").strip(),
        open_issues=True if query.get("open_issues") == "true" else None,
    )
    count = images.count()
    offset_text = query.get("offset", "")
    # Past the last image a page is empty, and an offset beyond int64 would not reach SQL.
    offset = min(int(offset_text), count) if offset_text.isascii() and offset_text.isdigit() else 0
    ids = images.values_list("id", flat=True)[offset : offset + POOL_PAGE]
    page = {
        "images": images_by_id(ids),
        "count": count,
        "start": offset + 1,
        "end": min(offset + POOL_PAGE, count),
        "number": offset // POOL_PAGE + 1,
        "pages": max(1, -(-count // POOL_PAGE)),
        "previous": max(0, offset - POOL_PAGE) if offset > 0 else None,
        "next": offset + POOL_PAGE if offset + POOL_PAGE < count else None,
    }
    # Owners pick images on the tiles, to assign them.
    selectable = selectors.project_role(project, request.user) == Role.OWNER
    context = {"project": project, "page": page, "selectable": selectable}
    return render(request, "projects/_pool.html", context)


@login_required
@require_GET
def sources_panel(request: HttpRequest, project_id: int) -> HttpResponse:
    project = access.project_for_user(request.user, project_id)
    role = selectors.project_role(project, request.user)
    context = {
        "project": project,
        "sources": selectors.project_sources(project, include_removed=True),
        "can_edit": role in (Role.OWNER, Role.ANNOTATOR),
    }
    return render(request, "projects/_sources.html", context)


@login_required
@require_GET
def members_panel(request: HttpRequest, project_id: int) -> HttpResponse:
    project = access.project_for_user(request.user, project_id, need="own")
    context = {"members": selectors.project_members(project), "roles": Role.choices}
    return render(request, "projects/_members.html", context)


@login_required
@require_GET
def annotate(request: HttpRequest, project_id: int) -> HttpResponse:
    """Start annotating: the next unprocessed image nobody else holds (claimed for whoever
    edits), or the first one."""
    project = access.project_for_user(request.user, project_id)
    first = next_unprocessed_for(project=project, user=request.user, current_id=None)
    image = first or image_step(project=project, current_id=None, direction="next")
    if image is None:
        messages.info(request, "The pool is empty or no image is available: add a source first.")
        return redirect("projects:detail", project_id=project.pk)
    return redirect("projects:editor", project_id=project.pk, image_id=image.pk)


@login_required
@require_GET
def editor(request: HttpRequest, project_id: int, image_id: int) -> HttpResponse:
    project = access.project_for_user(request.user, project_id)
    image = access.image_for_user(request.user, image_id)
    if image.project_id != project.pk:
        raise Http404("No such image in this project.")
    role = selectors.project_role(project, request.user)
    # A reviewer judges the annotations and comments on them, but draws nothing.
    read_only = role not in access.ROLES_FOR["edit"]
    can_review = project.review_required and role in access.ROLES_FOR["review"]
    labels = list(selectors.project_labels(project))
    config = {
        "project": project.pk,
        "projectName": project.name,
        "image": image.pk,
        "username": request.user.username,
        "readOnly": read_only,
        "role": role,
        "reviewRequired": project.review_required,
        "canReview": can_review,
        "canComment": role in access.ROLES_FOR["comment"],
        "reviewMode": can_review and request.GET.get("review") == "1",
        "labels": [{"id": label.id, "name": label.name, "color": label.color} for label in labels],
        "ui": services.user_settings_for(user=request.user, project=project),
        "automaskParams": services.project_automask_params(project),
    }
    context = {
        "project": project,
        "image": image,
        "labels": labels,
        "read_only": read_only,
        "review_required": project.review_required,
        "is_reviewer": role == Role.REVIEWER,
        "config": config,
    }
    return render(request, "projects/editor.html", context)


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and compose: the app answers and its database (and Redis, where
    it is used) are reachable; 503 names what is down while it is."""
    checks = {"database": _database_up(), **({"redis": _redis_up()} if settings.REDIS_URL else {})}
    down = sorted(name for name, up in checks.items() if not up)
    body = {
        "status": "down" if down else "ok",
        **{k: "ok" if up else "down" for k, up in checks.items()},
    }
    return JsonResponse(body, status=503 if down else 200)


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def _redis_up() -> bool:
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        with client:
            return bool(client.ping())
    except redis.RedisError:
        return False
