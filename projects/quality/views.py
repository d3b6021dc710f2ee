"""The project dashboard: per annotator, what they did and how well."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from projects import access
from projects.quality import selectors
from projects.quality.serializers import DashboardOutput


def duration(seconds: float) -> str:
    """2 h 05 min, 7 min, under a minute."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute" if seconds > 0 else "none"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _shown(row: selectors.AnnotatorRow) -> dict:
    return {
        "row": row,
        "time": duration(row.seconds_spent),
        "rejection_rate": _percent(row.rejection_rate),
        "mean_iou": "–" if row.mean_iou is None else f"{row.mean_iou:.3f}",
    }


@login_required
@require_GET
def dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project = access.project_for_user(request.user, project_id, need="review")
    board = selectors.project_dashboard(project=project)
    role = access.role_in_project(request.user, project.pk)
    config = {
        "project": project.pk,
        "dashboard": DashboardOutput(board).data,
        "activityUrl": reverse("api:project-activity", kwargs={"project_id": project.pk}),
    }
    context = {
        "project": project,
        "board": board,
        "rows": [_shown(row) for row in board.rows],
        "role": role,
        "config": config,
    }
    return render(request, "projects/dashboard.html", context)
