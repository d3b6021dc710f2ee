"""Leases on images, so that two annotators are never handed the same image.

An annotator holds at most one image per project: "next unprocessed" (and complete & next)
hands out an image nobody else holds and claims it in the same transaction; opening an image
claims it when it is free; activity on it renews the lease (ANNOTATOR_CLAIM_MINUTES); leaving
it (opening another, completing it, closing the page) releases it. An expired lease is free.

The claim row is unique per image, so two writers racing for one image cannot both win: the
loser's insert fails and it looks for the next image. On PostgreSQL the candidate image row
is locked with SKIP LOCKED, so concurrent callers mostly pass each other without colliding.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from annotator.messages import AssignmentChangedData
from projects import access
from projects.events import notify_user, project_group, publish, user_group
from projects.models import Image, ImageAssignment, ImageClaim, ImageStatus, Project, Role
from projects.workflow.selectors import open_issue_rows

RETRIES = 50  # candidates tried before giving up; each failure is another annotator's win


def lease_end(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(minutes=settings.ANNOTATOR_CLAIM_MINUTES)


CLAIMING_ROLES = (Role.OWNER, Role.ANNOTATOR)


def can_claim(user, project_id: int) -> bool:
    """Only people who can edit hold images; a viewer looks without holding."""
    return access.role_in_project(user, project_id) in CLAIMING_ROLES


def held_by(image: Image, user) -> str | None:
    """The username of someone else with an unexpired lease on the image, or None."""
    claim = (
        ImageClaim.objects.filter(image_id=image.pk, expires_at__gt=timezone.now())
        .exclude(user_id=user.pk)
        .select_related("user")
        .first()
    )
    return claim.user.username if claim else None


def held_elsewhere(project_id: int, user) -> Q:
    """Images someone else holds now."""
    others = ImageClaim.objects.filter(project_id=project_id, expires_at__gt=timezone.now())
    return Q(id__in=others.exclude(user_id=user.pk).values("image_id"))


def claim_take(*, image: Image, user, release_others: bool = True) -> bool:
    """Claim the image for `user`, or renew their lease; False when someone else holds it.
    With `release_others`, the user's other images in the project go back to the pool."""
    now = timezone.now()
    with transaction.atomic():
        mine = ImageClaim.objects.filter(image_id=image.pk, user_id=user.pk)
        taken = mine.update(expires_at=lease_end(now))
        if not taken:
            expired = ImageClaim.objects.filter(image_id=image.pk, expires_at__lte=now)
            taken = expired.update(user_id=user.pk, claimed_at=now, expires_at=lease_end(now))
        if not taken:
            taken = _insert(image, user, now)
        if taken and release_others:
            ImageClaim.objects.filter(user_id=user.pk, project_id=image.project_id).exclude(
                image_id=image.pk
            ).delete()
    return bool(taken)


def _insert(image: Image, user, now: datetime) -> bool:
    if ImageClaim.objects.filter(image_id=image.pk).exists():
        return False
    try:
        with transaction.atomic():
            ImageClaim.objects.create(
                image_id=image.pk,
                user_id=user.pk,
                project_id=image.project_id,
                claimed_at=now,
                expires_at=lease_end(now),
            )
    except IntegrityError:
        return False  # another writer claimed it between our check and our insert
    return True


def claim_renew(*, image_id: int, user_id: int) -> None:
    """Extend the user's lease on the image, if they hold it (a heartbeat, an edit)."""
    ImageClaim.objects.filter(image_id=image_id, user_id=user_id).update(expires_at=lease_end())


def claim_release(*, image_id: int, user_id: int) -> None:
    ImageClaim.objects.filter(image_id=image_id, user_id=user_id).delete()


def _first_after(images, start: int) -> Image | None:
    """The first image after `start` in pool order, wrapping round; locked on PostgreSQL,
    passing over rows another transaction has locked."""
    images = images.exclude(id=start).select_for_update(skip_locked=True, of=("self",))
    return (
        images.filter(id__gt=start).order_by("id").first()
        or images.filter(id__lt=start).order_by("id").first()
    )


def queues(images, *, project: Project, user, is_owner: bool):
    """The user's queues in the order they are served: their assigned images (white, then
    yellow), then unassigned ones (white, then yellow); an owner then also gets images
    assigned to others."""
    assigned = ImageAssignment.objects.filter(image__project_id=project.pk)
    mine = Q(id__in=assigned.filter(user_id=user.pk).values("image_id"))
    any_assigned = Q(id__in=assigned.values("image_id"))
    order = [images.filter(mine), images.exclude(any_assigned)]
    if is_owner:
        order.append(images.filter(any_assigned).exclude(mine))
    for queue in order:
        for status in (ImageStatus.UNPROCESSED, ImageStatus.IN_PROGRESS):
            yield queue.filter(status=status)


def next_for(
    *, project: Project, user, images, current_id: int | None, is_owner: bool
) -> Image | None:
    """The next image of the user's queues that nobody else holds, claimed for them."""
    free = images.exclude(held_elsewhere(project.pk, user))
    start = current_id or 0
    refused: list[int] = []
    for _ in range(RETRIES):
        with transaction.atomic():
            found = None
            for queue in queues(free, project=project, user=user, is_owner=is_owner):
                found = _first_after(queue.exclude(id__in=refused), start)
                if found is not None:
                    break
            if found is None:
                return None
            if claim_take(image=found, user=user):
                return found
        refused.append(found.pk)
    return None


# ------------------------------------------------------------------ assignments by an owner

FILTER_FLAGS = ("has_automask", "has_manual_prediction", "has_manual_edit", "completed")


def pool_filtered(project: Project, images, filters: dict):
    """The images of `images` matching the pool panel's filters (status, source, availability,
    flags, a path search, open issues) and whether someone is assigned them."""
    if filters.get("status"):
        images = images.filter(status=filters["status"])
    if filters.get("source") is not None:
        images = images.filter(source_id=filters["source"])
    if filters.get("available") is not None:
        images = images.filter(available=filters["available"])
    for flag in FILTER_FLAGS:
        if filters.get(flag) is not None:
            images = images.filter(**{flag: filters[flag]})
    if filters.get("assigned") is not None:
        taken = Q(
            id__in=ImageAssignment.objects.filter(image__project_id=project.pk).values("image_id")
        )
        images = images.filter(taken) if filters["assigned"] else images.exclude(taken)
    if filters.get("search"):
        images = images.filter(Q(path__icontains=filters["search"]) | Q(key=filters["search"]))
    if filters.get("open_issues") is not None:
        with_issues = Q(id__in=open_issue_rows().values("image_id"))
        images = (
            images.filter(with_issues) if filters["open_issues"] else images.exclude(with_issues)
        )
    return images.order_by("id")


def assignee(project: Project, username: str):
    """The member called `username` who may be assigned images (an annotator or an owner)."""
    user = get_user_model().objects.filter(username=username).first()
    role = access.role_in_project(user, project.pk) if user is not None else None
    if role not in (Role.OWNER, Role.ANNOTATOR):
        raise ValidationError(
            {"user": f"{username!r} is not an annotator or owner of this project."}
        )
    return user


def assignee_known(username: str):
    """A user to take images back from: anyone, even one who left the project."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"user": f"There is no user {username!r}."})
    return user


def images_of_project(project: Project, image_ids: list[int]) -> list[int]:
    found = set(
        Image.objects.filter(project=project, pk__in=image_ids).values_list("pk", flat=True)
    )
    missing = [pk for pk in image_ids if pk not in found]
    if missing:
        raise ValidationError({"image_ids": f"Not images of this project: {missing[:10]}."})
    return sorted(found)


@transaction.atomic
def assign(*, project: Project, by, user, image_ids: list[int], notify: bool = True) -> int:
    """Assign the images to `user`, replacing whoever had them; how many were assigned. With
    `notify`, the person is told of the images that were not theirs already."""
    had = set(
        ImageAssignment.objects.filter(image_id__in=image_ids, user_id=user.pk).values_list(
            "image_id", flat=True
        )
    )
    ImageAssignment.objects.filter(image_id__in=image_ids).delete()
    now = timezone.now()
    ImageAssignment.objects.bulk_create(
        ImageAssignment(image_id=pk, user=user, assigned_by=by, assigned_at=now) for pk in image_ids
    )
    _announce_assignment(project, user=user, count=len(image_ids), by=by, assigned=True)
    new = len(image_ids) - len(had)
    if notify and new and user.pk != by.pk:
        _notice(project, user=user, kind="assigned", count=new)
    return len(image_ids)


def split_plan(users: list, image_ids: list[int]) -> list[tuple[Any, list[int]]]:
    """The images split evenly among `users`, in pool order: consecutive runs, the first
    users taking one more when the count does not divide."""
    share, extra = divmod(len(image_ids), len(users))
    plan, start = [], 0
    for index, user in enumerate(users):
        end = start + share + (1 if index < extra else 0)
        plan.append((user, image_ids[start:end]))
        start = end
    return plan


def assign_split(*, project: Project, by, users: list, image_ids: list[int]) -> dict[str, int]:
    counts = {}
    with transaction.atomic():
        for user, ids in split_plan(users, image_ids):
            counts[user.username] = assign(project=project, by=by, user=user, image_ids=ids)
    return counts


def assignments_in(project: Project, *, image_ids: list[int] | None = None, users=None):
    """The assignment rows of the project, of these images and these people when given."""
    rows = ImageAssignment.objects.filter(image__project_id=project.pk)
    if image_ids is not None:
        rows = rows.filter(image_id__in=image_ids)
    if users is not None:
        rows = rows.filter(user__in=users)
    return rows


def taken_back(rows) -> dict[str, int]:
    """How many of the rows each person holds, by username."""
    counted = rows.values("user__username").annotate(n=Count("id")).order_by("user__username")
    return {row["user__username"]: row["n"] for row in counted}


@transaction.atomic
def unassign(
    *, project: Project, by, image_ids: list[int] | None = None, users=None
) -> dict[str, int]:
    """Take the images back (of these people only, when given); how many from each."""
    rows = assignments_in(project, image_ids=image_ids, users=users)
    per_user = dict(rows.values("user_id").annotate(n=Count("id")).values_list("user_id", "n"))
    counts = taken_back(rows)
    rows.delete()
    for member in get_user_model().objects.filter(pk__in=per_user):
        _announce_assignment(project, user=member, count=per_user[member.pk], by=by, assigned=False)
        if member.pk != by.pk:
            _notice(project, user=member, kind="unassigned", count=per_user[member.pk])
    return counts


def assigned_counts(project: Project, images, *, user=None) -> list[dict]:
    """Per assignee (or only `user`): how many of `images` they are assigned, and how many
    of those are completed, by username."""
    rows = ImageAssignment.objects.filter(image__in=images)
    if user is not None:
        rows = rows.filter(user_id=user.pk)
    done = Count("id", filter=Q(image__status=ImageStatus.COMPLETED))
    counted = (
        rows.values("user__username")
        .annotate(assigned=Count("id"), completed=done)
        .order_by("user__username")
    )
    return [
        {
            "username": row["user__username"],
            "assigned": row["assigned"],
            "completed": row["completed"],
        }
        for row in counted
    ]


def assigned_to(project: Project, images, user) -> dict:
    found = assigned_counts(project, images, user=user)
    return found[0] if found else {"username": user.username, "assigned": 0, "completed": 0}


def unassigned_to_do(project: Project, images) -> int:
    return pool_filtered(project, images, {"assigned": False, "completed": False}).count()


def _notice(project: Project, *, user, kind: str, count: int) -> None:
    many = count != 1
    what = f"{count} image{'s' if many else ''} in {project.name}"
    if kind == "assigned":
        text = f"{what} {'were' if many else 'was'} assigned to you"
    else:
        text = f"{what} {'are' if many else 'is'} no longer assigned to you"
    url = reverse("projects:detail", kwargs={"project_id": project.pk})
    notify_user(user.pk, kind=kind, text=text, project_id=project.pk, url=url, images=count)


def _announce_assignment(project: Project, *, user, count: int, by, assigned: bool) -> None:
    data = AssignmentChangedData(
        project=project.pk,
        user=user.username,
        action="assigned" if assigned else "unassigned",
        images=count,
        by=by.username,
    )

    def send() -> None:
        publish(project_group(project.pk), "assignment.changed", data)
        publish(user_group(user.pk), "assignment.changed", data)

    transaction.on_commit(send)
