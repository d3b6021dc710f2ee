"""Reads for stepping through a pool: navigation, the overview, records, history.

Every query here walks an index on (project, ..., id) and stops at the first match, so it
answers in milliseconds on a pool of 100,000 images.
"""

from typing import Literal

from django.db.models import Count, Prefetch, Q, QuerySet

from projects.models import (
    AutomaskRun,
    Comment,
    EditHistory,
    EditStep,
    Image,
    ImageStatus,
    MaskObject,
    Prediction,
    Project,
    ReviewState,
    Source,
)

Direction = Literal["next", "previous", "next_unprocessed"]
RECENT_PREDICTIONS = 20


def removed_source_ids(project_id: int) -> list[int]:
    return list(
        Source.objects.filter(project_id=project_id, removed_at__isnull=False).values_list(
            "id", flat=True
        )
    )


def navigable(project_id: int) -> QuerySet[Image]:
    """Images a person can step to: in the pool, readable, their source not removed."""
    # A short list of removed sources instead of a join keeps the query on the index.
    return Image.objects.filter(
        project_id=project_id, available=True, removed_at__isnull=True
    ).exclude(source_id__in=removed_source_ids(project_id))


def image_step(*, project: Project, current_id: int | None, direction: Direction) -> Image | None:
    images = navigable(project.pk)
    if direction == "previous":
        if current_id is None:
            return None
        return images.filter(id__lt=current_id).order_by("-id").first()
    if direction == "next":
        after = images.filter(id__gt=current_id) if current_id is not None else images
        return after.order_by("id").first()
    return next_unprocessed(project=project, current_id=current_id)


def next_unprocessed(*, project: Project, current_id: int | None) -> Image | None:
    """The next white image after `current_id`, wrapping round; failing that, the next yellow
    one; None when every image is completed."""
    start = current_id or 0
    waiting = navigable(project.pk).exclude(review_state=ReviewState.SUBMITTED)
    for status in (ImageStatus.UNPROCESSED, ImageStatus.IN_PROGRESS):
        candidates = waiting.filter(status=status).exclude(id=start)
        found = candidates.filter(id__gt=start).order_by("id").first()
        found = found or candidates.filter(id__lt=start).order_by("id").first()
        if found is not None:
            return found
    return None


def pool_position(image: Image) -> tuple[int, int]:
    """1-based position of the image among the navigable images, and their count."""
    images = navigable(image.project_id)
    return images.filter(id__lt=image.pk).count() + 1, images.count()


def user_history(*, project: Project, user, limit: int = 50) -> QuerySet[EditHistory]:
    return (
        EditHistory.objects.filter(user=user, project=project)
        .select_related("image__source")
        .order_by("-edited_at")[:limit]
    )


OVERVIEW_FLAGS = ("has_automask", "has_manual_prediction", "has_manual_edit", "completed")


def pool_overview(
    *,
    project: Project,
    status: str | None = None,
    source_id: int | None = None,
    available: bool | None = None,
    flags: dict[str, bool] | None = None,
    include_removed: bool = False,
    search: str = "",
    open_issues: bool | None = None,
) -> QuerySet[Image]:
    images = Image.objects.filter(project=project)
    if not include_removed:
        images = images.filter(removed_at__isnull=True).exclude(
            source_id__in=removed_source_ids(project.pk)
        )
    if status:
        images = images.filter(status=status)
    if source_id is not None:
        images = images.filter(source_id=source_id)
    if available is not None:
        images = images.filter(available=available)
    for flag, value in (flags or {}).items():
        images = images.filter(**{flag: value})
    if search:
        images = images.filter(Q(path__icontains=search) | Q(key=search))
    if open_issues is not None:
        with_issues = Q(id__in=open_issue_rows().values("image_id"))
        images = images.filter(with_issues) if open_issues else images.exclude(with_issues)
    return images.order_by("id")


def open_issue_rows() -> QuerySet[Comment]:
    return Comment.objects.filter(is_issue=True, parent__isnull=True, resolved_at__isnull=True)


def images_by_id(ids) -> list[Image]:
    """The full rows of one overview page, in pool order.

    The page's ids come from the covering index first; joining sources for only those rows
    keeps deep pages as fast as the first. Each row says how many open issues it has.
    """
    issues = Count(
        "comments",
        filter=Q(
            comments__is_issue=True,
            comments__parent__isnull=True,
            comments__resolved_at__isnull=True,
        ),
    )
    return list(
        Image.objects.filter(id__in=list(ids))
        .select_related("source")
        .annotate(open_issues=issues)
        .order_by("id")
    )


def image_records(image: Image) -> dict:
    """Everything saved for an image: recent predictions, automask runs, objects."""
    predictions = (
        Prediction.objects.filter(image=image)
        .select_related("created_by")
        .order_by("-id")[:RECENT_PREDICTIONS]
    )
    runs = (
        AutomaskRun.objects.filter(image=image).prefetch_related(Prefetch("masks")).order_by("-id")
    )
    objects = (
        MaskObject.objects.filter(image=image).select_related("label", "updated_by").order_by("id")
    )
    return {"predictions": list(predictions), "automask_runs": list(runs), "objects": list(objects)}


def undo_state(*, image: Image, user) -> dict[str, bool]:
    steps = EditStep.objects.filter(image=image, user=user)
    return {
        "can_undo": steps.filter(undone=False).exists(),
        "can_redo": steps.filter(undone=True).exists(),
    }
