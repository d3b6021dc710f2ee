"""The review queue's page: opens the editor in review mode on the longest waiting image."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from projects import access
from projects.review import selectors


@login_required
@require_GET
def review_start(request: HttpRequest, project_id: int) -> HttpResponse:
    project = access.project_for_user(request.user, project_id, need="review")
    image = selectors.review_next(project=project)
    if image is None:
        messages.info(request, "Nothing waits for review: no image is submitted.")
        return redirect("projects:detail", project_id=project.pk)
    url = reverse("projects:editor", kwargs={"project_id": project.pk, "image_id": image.pk})
    return redirect(f"{url}?review=1")
