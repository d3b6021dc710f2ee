"""The append-only activity log: who did what, when, on which image or object.

Services call `activity_record` inside the transaction of the change it records, so the log
holds exactly what was saved. Actions are dotted names, the thing then the verb
("object.created", "image.submitted", "image.rejected", "comment.added", ...).
"""

from collections.abc import Iterable
from typing import Any

from projects.models import ActivityEvent

BATCH = 500


def activity_record(
    *,
    project_id: int,
    user: Any,
    action: str,
    image_id: int | None = None,
    object_id: int | None = None,
    **data: Any,
) -> ActivityEvent:
    return ActivityEvent.objects.create(
        project_id=project_id,
        image_id=image_id,
        object_id=object_id,
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        data=data,
    )


def activity_record_many(
    *, project_id: int, user: Any, action: str, per_image: Iterable[tuple[int, dict]]
) -> None:
    """One row per image of a change made to many at once (an import): (image id, data)."""
    who = user if getattr(user, "is_authenticated", False) else None
    ActivityEvent.objects.bulk_create(
        (
            ActivityEvent(
                project_id=project_id, image_id=image_id, user=who, action=action, data=data
            )
            for image_id, data in per_image
        ),
        batch_size=BATCH,
    )
