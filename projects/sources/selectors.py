"""Reads on sources and their images."""

from django.db.models import Count, Q, QuerySet

from projects.models import Image, Project, Source


def project_sources(project: Project, *, include_removed: bool = False) -> QuerySet[Source]:
    sources = project.sources.annotate(image_count=Count("images"))
    if not include_removed:
        sources = sources.filter(removed_at__isnull=True)
    return sources.order_by("id")


def source_with_count(source: Source) -> Source:
    """The source with `image_count` set, as the source serializers read it."""
    setattr(source, "image_count", source.images.count())  # noqa: B010 (not a model field)
    return source


def source_removal_summary(source: Source) -> dict:
    """What removing the source does, in numbers a person can check before confirming."""
    counts = source.images.aggregate(
        images=Count("id"),
        annotated=Count(
            "id",
            filter=Q(has_automask=True)
            | Q(has_manual_prediction=True)
            | Q(has_manual_edit=True)
            | Q(completed=True),
        ),
    )
    return {
        "source_id": source.pk,
        "images": counts["images"],
        "images_with_annotations": counts["annotated"],
        "message": (
            f"Removing {source.name!r} hides its {counts['images']} images from the pool, "
            f"{counts['annotated']} of them with annotations. Nothing is deleted: files stay "
            "where they are, every annotation record is kept, and restoring the source "
            "brings it all back."
        ),
    }


def upload_with_key(project: Project, key: str) -> Image | None:
    return (
        Image.objects.filter(
            project=project,
            key=key,
            source__kind=Source.Kind.UPLOAD,
            source__removed_at__isnull=True,
        )
        .order_by("id")
        .first()
    )
