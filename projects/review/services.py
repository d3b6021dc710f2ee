"""The review stage and the comments on an image: accept, reject (with a comment and issues),
reopen, and threads of comments and issues that are resolved and reopened.

Each transition locks the image row, checks the reviewer's role and the image's review state,
changes it, writes the activity log and tells the project, in one transaction. Submitting is
the completion path's (projects.workflow.submission), since "complete" is what submits.
"""

import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from annotator.messages import CommentChangedData
from projects import access
from projects.activity import activity_record
from projects.errors import Conflict
from projects.events import notify_user, project_group, publish
from projects.models import Comment, Image, MaskObject, Review, ReviewState, Role
from projects.workflow import claims

BODY_MAX = 5000
ISSUES_MAX = 50
COMMENTING_ROLES = (Role.OWNER, Role.ANNOTATOR, Role.REVIEWER)


class ReviewRefused(Conflict):
    code = "review_refused"


@dataclass(frozen=True)
class IssueInput:
    body: str
    point: list[float] | None = None
    object_id: int | None = None


def _locked(image: Image, user, need: access.Need) -> Image:
    access.check_project_access(user, image.project_id, need)
    return Image.objects.select_for_update().select_related("submitted_by").get(pk=image.pk)


def _announce(image: Image, user) -> None:
    data = {
        "image_id": image.pk,
        "version": image.version,
        "status": image.status,
        "review_state": image.review_state,
        "by": user.username,
    }
    transaction.on_commit(lambda: publish(project_group(image.project_id), "image.changed", data))


def _editor_url(image: Image) -> str:
    return reverse("projects:editor", kwargs={"project_id": image.project_id, "image_id": image.pk})


def _decided(image: Image, state: str) -> None:
    image.review_state = state
    image.completed = state == ReviewState.ACCEPTED
    image.refresh_status()
    image.save(update_fields=["review_state", "completed", "status"])


def _must_be_submitted(image: Image, verb: str) -> None:
    if image.review_state == ReviewState.ACCEPTED:
        after = "accepting twice changes nothing" if verb == "accept" else "reopen it first"
        raise ReviewRefused(f"This image was already accepted: {after}.")
    if image.review_state != ReviewState.SUBMITTED:
        raise ReviewRefused(f"This image is not submitted for review: there is nothing to {verb}.")


@transaction.atomic
def image_accept(*, image: Image, user, comment: str = "") -> Review:
    """Accept a submitted image: it turns green (completed)."""
    image = _locked(image, user, "review")
    _must_be_submitted(image, "accept")
    review = Review.objects.create(
        image=image,
        reviewer=user,
        annotator=image.submitted_by,
        decision=Review.Decision.ACCEPTED,
        comment=_body(comment, required=False),
    )
    _decided(image, ReviewState.ACCEPTED)
    activity_record(
        project_id=image.project_id,
        user=user,
        action="image.accepted",
        image_id=image.pk,
        annotator=image.submitted_by_id,
    )
    if image.submitted_by_id and image.submitted_by_id != user.pk:
        notify_user(
            image.submitted_by_id,
            kind="accepted",
            text=f"{user.username} accepted {image.display_name}.",
            project_id=image.project_id,
            url=_editor_url(image),
        )
    _announce(image, user)
    return review


@transaction.atomic
def image_reject(
    *, image: Image, user, comment: str, issues: list[IssueInput] | None = None
) -> Review:
    """Send a submitted image back to its submitter with a comment and, optionally, issues
    pinned to a point or an object. It is served to them first, and they are told at once."""
    body = _body(comment, required=True, field="comment", what="a rejection")
    issues = list(issues or [])
    if len(issues) > ISSUES_MAX:
        raise ValidationError({"issues": f"At most {ISSUES_MAX} issues with one rejection."})
    image = _locked(image, user, "review")
    _must_be_submitted(image, "reject")
    checked = [_issue_checked(image, issue, index) for index, issue in enumerate(issues)]
    review = Review.objects.create(
        image=image,
        reviewer=user,
        annotator=image.submitted_by,
        decision=Review.Decision.REJECTED,
        comment=body,
    )
    Comment.objects.create(image=image, author=user, body=body, review=review)
    for issue in checked:
        Comment.objects.create(
            image=image,
            author=user,
            body=issue.body,
            is_issue=True,
            point=issue.point,
            object_id=issue.object_id,
            review=review,
        )
    _decided(image, ReviewState.REJECTED)
    activity_record(
        project_id=image.project_id,
        user=user,
        action="image.rejected",
        image_id=image.pk,
        annotator=image.submitted_by_id,
        issues=len(checked),
    )
    submitter = image.submitted_by
    if submitter is not None:
        if access.role_in_project(submitter, image.project_id) in claims.CLAIMING_ROLES:
            claims.assign(
                project=image.project, by=user, user=submitter, image_ids=[image.pk], notify=False
            )
        notify_user(
            submitter.pk,
            kind="rejected",
            text=f"{user.username} rejected {image.display_name}: {body[:200]}",
            project_id=image.project_id,
            url=_editor_url(image),
            image_id=image.pk,
        )
    _announce(image, user)
    _comments_changed(image, user, "rejected")
    return review


@transaction.atomic
def image_reopen(*, image: Image, user) -> Image:
    """An owner takes an accepted image back into work: yellow again, not submitted."""
    image = _locked(image, user, "own")
    if image.review_state != ReviewState.ACCEPTED:
        raise ReviewRefused("Only an accepted image can be reopened.")
    _decided(image, ReviewState.NONE)
    activity_record(
        project_id=image.project_id, user=user, action="image.reopened", image_id=image.pk
    )
    _announce(image, user)
    return image


# ------------------------------------------------------------------------------ comments


def _can_comment(user, project_id: int) -> None:
    access.check_project_access(user, project_id, "comment")


def _body(text: Any, *, required: bool, field: str = "body", what: str = "a comment") -> str:
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValidationError({field: "Must be text."})
    text = text.strip()
    if required and not text:
        raise ValidationError({field: f"Write {what}: say what is wrong and what to change."})
    if len(text) > BODY_MAX:
        raise ValidationError({field: f"At most {BODY_MAX} characters."})
    return text


def _point(image: Image, point: Any, field: str) -> list[float] | None:
    if point is None:
        return None
    if (
        not isinstance(point, list | tuple)
        or len(point) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
        or not all(math.isfinite(v) for v in point)
    ):
        raise ValidationError({field: "A point is [x, y] in image pixels."})
    x, y = float(point[0]), float(point[1])
    if x < 0 or y < 0 or (image.width and x > image.width) or (image.height and y > image.height):
        raise ValidationError({field: f"The point ({x:g}, {y:g}) lies outside the image."})
    return [round(x, 2), round(y, 2)]


def _object(image: Image, object_id: Any, field: str) -> int | None:
    if object_id is None:
        return None
    if isinstance(object_id, bool) or not isinstance(object_id, int):
        raise ValidationError({field: "An object id is a whole number."})
    if not MaskObject.objects.filter(pk=object_id, image_id=image.pk).exists():
        raise ValidationError({field: f"There is no object {object_id} on this image."})
    return object_id


def _issue_checked(image: Image, issue: IssueInput, index: int) -> IssueInput:
    prefix = f"issues.{index}"
    return IssueInput(
        body=_body(issue.body, required=True, field=f"{prefix}.body", what="what the issue is"),
        point=_point(image, issue.point, f"{prefix}.point"),
        object_id=_object(image, issue.object_id, f"{prefix}.object_id"),
    )


def _comments_changed(image: Image, user, action: str, comment: Comment | None = None) -> None:
    data = CommentChangedData(
        image_id=image.pk,
        comment_id=comment.pk if comment else None,
        action=action,
        by=user.username,
    )
    transaction.on_commit(lambda: publish(project_group(image.project_id), "comment.changed", data))


@transaction.atomic
def comment_add(
    *,
    image: Image,
    user,
    body: str,
    parent: Comment | None = None,
    object_id: int | None = None,
    is_issue: bool = False,
    point: list[float] | None = None,
) -> Comment:
    """A comment on the image or one object, a reply to a thread, or an issue to fix."""
    _can_comment(user, image.project_id)
    text = _body(body, required=True)
    if parent is not None:
        if parent.image_id != image.pk:
            raise ValidationError({"parent": "That comment is on another image."})
        parent = parent.parent or parent  # a reply to a reply joins the same thread
        if is_issue or point is not None or object_id is not None:
            raise ValidationError({"parent": "A reply is plain text: start a thread for an issue."})
    comment = Comment.objects.create(
        image=image,
        author=user,
        body=text,
        parent=parent,
        is_issue=bool(is_issue),
        point=_point(image, point, "point"),
        object_id=_object(image, object_id, "object_id"),
    )
    activity_record(
        project_id=image.project_id,
        user=user,
        action="issue.opened" if comment.is_issue else "comment.added",
        image_id=image.pk,
        object_id=comment.object_id,
        comment=comment.pk,
    )
    _comments_changed(image, user, "added", comment)
    return comment


@transaction.atomic
def issue_resolve(*, comment: Comment, user, resolved: bool) -> Comment:
    """Resolve an issue, or reopen it."""
    _can_comment(user, comment.image.project_id)
    comment = Comment.objects.select_for_update().select_related("image").get(pk=comment.pk)
    if not comment.is_issue or comment.parent_id is not None:
        raise ValidationError({"comment": "Only an issue can be resolved."})
    if resolved == (comment.resolved_at is not None):
        state = "resolved" if resolved else "open"
        raise ReviewRefused(f"This issue is {state} already.")
    comment.resolved_at = timezone.now() if resolved else None
    comment.resolved_by = user if resolved else None
    comment.save(update_fields=["resolved_at", "resolved_by"])
    activity_record(
        project_id=comment.image.project_id,
        user=user,
        action="issue.resolved" if resolved else "issue.reopened",
        image_id=comment.image_id,
        object_id=comment.object_id,
        comment=comment.pk,
    )
    _comments_changed(comment.image, user, "resolved" if resolved else "reopened", comment)
    return comment
