"""The review stage's side of completing: with Project.review_required, "complete" submits the
image for review instead of marking it green. Accepting and rejecting are projects.review's.

A submitted image stays yellow (completed=False) with a "submitted" marker, and "next
unprocessed" hands it to no one until a reviewer has decided.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from projects import access
from projects.activity import activity_record
from projects.errors import Conflict
from projects.models import Comment, EditHistory, Image, MaskObject, ReviewState, Role
from projects.quality.services import score_submission
from projects.workflow import claims

ISSUES_NAMED = 3


class SubmitRefused(Conflict):
    code = "submit_refused"


def open_issues(image_id: int):
    return Comment.objects.filter(
        image_id=image_id, is_issue=True, parent__isnull=True, resolved_at__isnull=True
    ).order_by("id")


def _refusal(image: Image, user) -> str | None:
    if image.review_state == ReviewState.SUBMITTED:
        by = image.submitted_by.username if image.submitted_by else "someone"
        return f"This image was already submitted for review (by {by})."
    if image.review_state == ReviewState.ACCEPTED:
        return "This image was already accepted: an owner can reopen it."
    holder = claims.held_by(image, user)
    if holder is not None:
        return f"{holder} is working on this image: only they can submit it now."
    issues = list(open_issues(image.pk)[: ISSUES_NAMED + 1])
    if issues:
        named = "; ".join(f"#{issue.pk} “{issue.body[:60]}”" for issue in issues[:ISSUES_NAMED])
        more = " and more" if len(issues) > ISSUES_NAMED else ""
        count = open_issues(image.pk).count()
        plural = "issue" if count == 1 else "issues"
        return f"This image has {count} open {plural} ({named}{more}): resolve them first."
    return None


def image_submit(*, image: Image, user) -> Image:
    """Submit the image for review: refused while someone else holds it, when it is already
    submitted or accepted, and while it has open issues."""
    with transaction.atomic():
        image = Image.objects.select_for_update().select_related("submitted_by").get(pk=image.pk)
        refusal = _refusal(image, user)
        if refusal:
            raise SubmitRefused(refusal)
        image.review_state = ReviewState.SUBMITTED
        image.submitted_by = user
        image.submitted_at = timezone.now()
        image.completed = False
        image.refresh_status()
        image.save(
            update_fields=["review_state", "submitted_by", "submitted_at", "completed", "status"]
        )
        EditHistory.touch(user=user, image=image)
        claims.claim_release(image_id=image.pk, user_id=user.pk)
        activity_record(
            project_id=image.project_id,
            user=user,
            action="image.submitted",
            image_id=image.pk,
            objects=MaskObject.objects.filter(image=image).count(),
        )
        score_submission(image=image, user=user)
    return image


def image_withdraw(*, image: Image, user) -> Image:
    """Take back a submission before it was reviewed ("Mark not completed" with review on);
    an accepted image is reopened by an owner only."""
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image.pk)
        if image.review_state == ReviewState.ACCEPTED:
            if access.role_in_project(user, image.project_id) != Role.OWNER:
                raise PermissionDenied("This image was accepted: only an owner can reopen it.")
            action = "image.reopened"
        elif image.review_state == ReviewState.SUBMITTED:
            action = "image.withdrawn"
        else:
            action = ""
        image.review_state = ReviewState.NONE
        image.completed = False
        image.refresh_status()
        image.save(update_fields=["review_state", "completed", "status"])
        EditHistory.touch(user=user, image=image)
        claims.claim_renew(image_id=image.pk, user_id=user.pk)
        if action:
            activity_record(
                project_id=image.project_id, user=user, action=action, image_id=image.pk
            )
    return image


def rejected_for(images, *, project_id: int, user, current_id: int | None) -> Image | None:
    """A rejected image sent back to `user` and free, claimed for them: their fixes come before
    new work."""
    returned = images.filter(review_state=ReviewState.REJECTED, submitted_by=user).exclude(
        claims.held_elsewhere(project_id, user)
    )
    if current_id is not None:
        returned = returned.exclude(id=current_id)
    for image in returned.order_by("id")[: claims.RETRIES]:
        if claims.claim_take(image=image, user=user):
            return image
    return None
