"""Reads for the review stage: the queue of submitted images, an image's comments and issues,
open-issue counts for the pool."""

from django.db.models import Count, Prefetch, QuerySet

from projects.models import Comment, Image, Project, Review, ReviewState
from projects.workflow.selectors import navigable


def review_queue(project: Project) -> QuerySet[Image]:
    """Submitted images, the longest waiting first."""
    return navigable(project.pk).filter(review_state=ReviewState.SUBMITTED)


def review_next(*, project: Project, skip_id: int | None = None) -> Image | None:
    images = review_queue(project)
    if skip_id is not None:
        images = images.exclude(id=skip_id)
    return images.order_by("submitted_at", "id").first()


def review_count(project: Project) -> int:
    return review_queue(project).count()


def image_threads(image: Image) -> list[Comment]:
    """The image's threads in order, each first comment with its replies."""
    replies = Comment.objects.select_related("author", "resolved_by").order_by("id")
    return list(
        Comment.objects.filter(image=image, parent__isnull=True)
        .select_related("author", "resolved_by")
        .prefetch_related(Prefetch("replies", queryset=replies))
        .order_by("id")
    )


def latest_review(image: Image) -> Review | None:
    return Review.objects.filter(image=image).select_related("reviewer").order_by("-id").first()


def open_issue_counts(image_ids) -> dict[int, int]:
    rows = (
        Comment.objects.filter(
            image_id__in=list(image_ids),
            is_issue=True,
            parent__isnull=True,
            resolved_at__isnull=True,
        )
        .values("image_id")
        .annotate(n=Count("id"))
    )
    return {row["image_id"]: row["n"] for row in rows}
