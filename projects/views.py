"""Pages. The editor and the richer HTMX panels build on these."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from projects import access, selectors, services


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
    context = {
        "project": project,
        "role": selectors.project_role(project, request.user),
        "sources": selectors.project_sources(project),
        "images": selectors.pool_images(project)[:200],
        "labels": selectors.project_labels(project),
    }
    return render(request, "projects/detail.html", context)


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and compose: the app answers and its database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
