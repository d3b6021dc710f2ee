from projects.models import Comment, ReviewState
from tests.access import Route


def _in_state(scene, state: str) -> dict:
    image = scene.image
    image.review_state = state
    image.submitted_by = scene.team.annotator
    image.completed = state == ReviewState.ACCEPTED
    image.save(update_fields=["review_state", "submitted_by", "completed"])
    return {"image_id": image.pk}


def _issue(scene) -> dict:
    issue = Comment.objects.create(
        image=scene.image, author=scene.team.owner, body="Edge", is_issue=True, point=[3, 4]
    )
    return {"comment_id": issue.pk}


ROUTES = [
    Route(
        "projects:review",
        "get",
        "review",
        kwargs=lambda s: {"project_id": s.team.project.pk},
        page=True,
        ok=(302,),
    ),
    Route("api:review-accept", "post", "review", kwargs=lambda s: _in_state(s, "submitted")),
    Route(
        "api:review-reject",
        "post",
        "review",
        kwargs=lambda s: _in_state(s, "submitted"),
        data=lambda s: {"comment": "The cell at the top is missing.", "issues": []},
    ),
    Route("api:review-reopen", "post", "own", kwargs=lambda s: _in_state(s, "accepted")),
    Route("api:review-queue", "get", "review", kwargs=lambda s: {"project_id": s.team.project.pk}),
    Route("api:comments", "get", "view", kwargs=lambda s: {"image_id": s.image.pk}),
    Route(
        "api:comments",
        "post",
        "comment",
        kwargs=lambda s: {"image_id": s.image.pk},
        data=lambda s: {"body": "Is this one cell or two?"},
    ),
    Route(
        "api:comment-resolve",
        "post",
        "comment",
        kwargs=_issue,
        data=lambda s: {"resolved": True},
    ),
]
