"""Reads of the activity log and the per-annotator dashboard built from it.

Time spent is the sum of the gaps between a person's consecutive events in the project, each
gap capped at IDLE_CAP: someone who opens an image, draws for two minutes and leaves for
lunch is counted two minutes plus at most IDLE_CAP, not the lunch. A lone event counts
nothing.

Images completed are the images complete now, credited to whoever finished them: with a
review stage the submitter of an accepted image, otherwise the person of the latest
"image.completed" event. The daily series counts completions (accepted submissions) on the
day they happened, so a later reopening does not rewrite the plot's past.

Ground truth stays secret from the people it measures: the ground-truth and score events are
shown to owners only (HIDDEN_FROM_WORKERS).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from projects.models import (
    ActivityEvent,
    Image,
    Membership,
    Project,
    QualityScore,
    ReviewState,
    Role,
)

IDLE_CAP = dt.timedelta(minutes=5)
HIDDEN_FROM_WORKERS = ("ground_truth.", "quality.")
WORK_ACTIONS = ("object.", "edit.", "image.completed", "image.submitted")


@dataclass(frozen=True)
class ActivityFilters:
    user_id: int | None = None
    action: str = ""  # an exact action, or a prefix ending in "." ("object.")
    image_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _secret() -> Q:
    hidden = Q()
    for prefix in HIDDEN_FROM_WORKERS:
        hidden |= Q(action__startswith=prefix)
    return hidden


def _visible(events: QuerySet[ActivityEvent], *, user, role: str) -> QuerySet[ActivityEvent]:
    """Owners see everything; reviewers all but ground truth; annotators and viewers their
    own rows, less ground truth."""
    if role == Role.OWNER:
        return events
    events = events.exclude(_secret())
    if role == Role.REVIEWER:
        return events
    return events.filter(user=user)


def _filtered(events: QuerySet[ActivityEvent], filters: ActivityFilters):
    if filters.user_id is not None:
        events = events.filter(user_id=filters.user_id)
    if filters.action.endswith("."):
        events = events.filter(action__startswith=filters.action)
    elif filters.action:
        events = events.filter(action=filters.action)
    if filters.image_id is not None:
        events = events.filter(image_id=filters.image_id)
    if filters.since is not None:
        events = events.filter(at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(at__lt=filters.until)
    return events


def project_activity(
    *, project: Project, user, role: str, filters: ActivityFilters = ActivityFilters()
) -> QuerySet[ActivityEvent]:
    """The project's events that `user` may see, newest first."""
    events = ActivityEvent.objects.filter(project=project).select_related("user", "image")
    events = _filtered(_visible(events, user=user, role=role), filters)
    return events.order_by("-at", "-id")


def image_activity(*, image: Image, user, role: str) -> QuerySet[ActivityEvent]:
    """One image's events that `user` may see, newest first."""
    events = ActivityEvent.objects.filter(image=image).select_related("user", "image")
    return _visible(events, user=user, role=role).order_by("-at", "-id")


def activity_for_export(
    *, project: Project, filters: ActivityFilters = ActivityFilters()
) -> QuerySet[ActivityEvent]:
    """Every event of the project, oldest first, for the owner's CSV."""
    events = ActivityEvent.objects.filter(project=project).select_related("user", "image")
    return _filtered(events, filters).order_by("at", "id")


def images_not_in(*, project: Project, image_ids: Iterable[int]) -> list[int]:
    """Those of the ids that name no image of the project, in order."""
    ids = sorted(set(image_ids))
    found = set(Image.objects.filter(project=project, pk__in=ids).values_list("pk", flat=True))
    return [pk for pk in ids if pk not in found]


def ground_truth_ids(*, project: Project) -> list[int]:
    return list(
        Image.objects.filter(project=project, ground_truth=True)
        .order_by("id")
        .values_list("pk", flat=True)
    )


def ground_truth_rows(image_ids: Iterable[int]) -> list[dict]:
    """Each image's ground-truth flags and how many reference objects it has."""
    rows = (
        Image.objects.filter(pk__in=list(image_ids))
        .annotate(reference_objects=Count("ground_truth_objects"))
        .order_by("id")
        .values("id", "ground_truth", "honeypot", "reference_objects")
    )
    return [dict(row) for row in rows]


# ------------------------------------------------------------------------------ dashboard


@dataclass
class DayCounts:
    day: dt.date
    images_completed: int = 0
    objects_made: int = 0


@dataclass
class AnnotatorRow:
    user_id: int
    username: str
    role: str
    images_completed: int = 0
    objects_made: int = 0
    seconds_spent: float = 0.0
    submissions: int = 0
    rejections: int = 0
    rejection_rate: float | None = None
    scored_images: int = 0
    mean_iou: float | None = None
    missed: int = 0
    extra: int = 0
    days: list[DayCounts] = field(default_factory=list)


@dataclass
class Dashboard:
    project: Project
    review_required: bool
    idle_cap_seconds: int
    days: list[dt.date]
    rows: list[AnnotatorRow]


def seconds_spent(times: Iterable[dt.datetime], cap: dt.timedelta = IDLE_CAP) -> float:
    """The sum of the gaps between consecutive times (sorted), each at most `cap`."""
    ordered = sorted(times)
    return sum(
        (min(later - earlier, cap) for earlier, later in zip(ordered, ordered[1:], strict=False)),
        dt.timedelta(),
    ).total_seconds()


def _work_filter() -> Q:
    work = Q()
    for action in WORK_ACTIONS:
        work |= Q(action__startswith=action) if action.endswith(".") else Q(action=action)
    return work


def _people(project: Project, events: QuerySet[ActivityEvent]) -> dict[int, tuple[str, str]]:
    """Annotators, and whoever else did annotation work: id -> (username, role)."""
    roles = dict(Membership.objects.filter(project=project).values_list("user_id", "role"))
    workers = set(events.filter(_work_filter()).values_list("user_id", flat=True))
    ids = {uid for uid, role in roles.items() if role == Role.ANNOTATOR} | workers
    ids.discard(None)
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    return {
        uid: (names[uid], roles.get(uid, "")) for uid in sorted(ids, key=lambda uid: names[uid])
    }


def _time_spent(events: QuerySet[ActivityEvent], ids: set[int]) -> dict[int, float]:
    times: dict[int, list[dt.datetime]] = defaultdict(list)
    for user_id, at in events.filter(user_id__in=ids).values_list("user_id", "at").iterator():
        times[user_id].append(at)
    return {uid: seconds_spent(found) for uid, found in times.items()}


def _completed_now(project: Project, events: QuerySet[ActivityEvent]) -> dict[int, int]:
    """Images complete now, per the person credited with them."""
    credited: dict[int, int] = defaultdict(int)
    accepted = Image.objects.filter(
        project=project, completed=True, review_state=ReviewState.ACCEPTED
    )
    for user_id in accepted.values_list("submitted_by_id", flat=True):
        if user_id is not None:
            credited[user_id] += 1
    plain = Image.objects.filter(project=project, completed=True).exclude(
        review_state=ReviewState.ACCEPTED
    )
    latest: dict[int, int] = {}
    rows = events.filter(action="image.completed", image__in=plain).order_by("id")
    for image_id, user_id in rows.values_list("image_id", "user_id").iterator():
        latest[image_id] = user_id
    for user_id in latest.values():
        if user_id is not None:
            credited[user_id] += 1
    return credited


def _objects_made(events: QuerySet[ActivityEvent]) -> dict[int, int]:
    rows = (
        events.filter(action="object.created")
        .values("user_id")
        .annotate(n=Count("object_id", distinct=True))
    )
    return {row["user_id"]: row["n"] for row in rows}


def _submissions(events: QuerySet[ActivityEvent]) -> tuple[dict[int, int], dict[int, int]]:
    made = events.filter(action="image.submitted").values("user_id").annotate(n=Count("id"))
    rejected: dict[int, int] = defaultdict(int)
    for annotator in events.filter(action="image.rejected").values_list(
        "data__annotator", flat=True
    ):
        if isinstance(annotator, int):
            rejected[annotator] += 1
    return {row["user_id"]: row["n"] for row in made}, rejected


def _scores(project: Project) -> dict[int, dict]:
    rows = (
        QualityScore.objects.filter(project=project)
        .values("user_id")
        .annotate(
            scored=Count("id"),
            mean=Avg("mean_iou"),
            missed_sum=Sum("missed"),
            extra_sum=Sum("extra"),
        )
    )
    return {row["user_id"]: dict(row) for row in rows}


def _daily(events: QuerySet[ActivityEvent]) -> dict[tuple[int, dt.date], DayCounts]:
    counts: dict[tuple[int, dt.date], DayCounts] = {}

    def bump(user_id, day, what: str) -> None:
        if isinstance(user_id, int):
            entry = counts.setdefault((user_id, day), DayCounts(day=day))
            setattr(entry, what, getattr(entry, what) + 1)

    dated = events.annotate(day=TruncDate("at"))
    for user_id, day in dated.filter(action="image.completed").values_list("user_id", "day"):
        bump(user_id, day, "images_completed")
    for user_id, day in dated.filter(action="image.accepted").values_list("data__annotator", "day"):
        bump(user_id, day, "images_completed")
    for user_id, day in dated.filter(action="object.created").values_list("user_id", "day"):
        bump(user_id, day, "objects_made")
    return counts


def _day_range(counts: Iterable[dt.date]) -> list[dt.date]:
    found = sorted(set(counts))
    if not found:
        return []
    span = (found[-1] - found[0]).days
    return [found[0] + dt.timedelta(days=n) for n in range(span + 1)]


def project_dashboard(*, project: Project) -> Dashboard:
    """One row per annotator (and anyone else who annotated): images completed, objects
    made, time spent, rejection rate, ground-truth score and a daily series."""
    events = ActivityEvent.objects.filter(project=project)
    people = _people(project, events)
    spent = _time_spent(events, set(people))
    completed = _completed_now(project, events)
    objects = _objects_made(events)
    submitted, rejected = _submissions(events)
    scores = _scores(project)
    daily = _daily(events)
    days = _day_range(day for uid, day in daily if uid in people)
    rows = []
    for uid, (username, role) in people.items():
        score = scores.get(uid, {})
        made = submitted.get(uid, 0)
        rows.append(
            AnnotatorRow(
                user_id=uid,
                username=username,
                role=role,
                images_completed=completed.get(uid, 0),
                objects_made=objects.get(uid, 0),
                seconds_spent=spent.get(uid, 0.0),
                submissions=made,
                rejections=rejected.get(uid, 0),
                rejection_rate=rejected.get(uid, 0) / made if made else None,
                scored_images=score.get("scored", 0),
                mean_iou=score.get("mean"),
                missed=score.get("missed_sum") or 0,
                extra=score.get("extra_sum") or 0,
                days=[daily.get((uid, day), DayCounts(day=day)) for day in days],
            )
        )
    return Dashboard(
        project=project,
        review_required=project.review_required,
        idle_cap_seconds=int(IDLE_CAP.total_seconds()),
        days=days,
        rows=rows,
    )
