import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from projects.activity import ActivityEvent
from projects.models import Comment, ImageClaim, ImageStatus, ReviewState
from projects.review import services
from projects.workflow import claims
from projects.workflow.services import image_set_completed, next_unprocessed_for
from projects.workflow.submission import SubmitRefused


@pytest.fixture
def reviewed(team, pool):
    team.project.review_required = True
    team.project.save()
    image = pool[1][0]
    image.refresh_from_db()
    return image


def submit(image, user):
    return image_set_completed(image=image, user=user, completed=True)


def test_completing_submits_for_review_and_stays_yellow(team, reviewed):
    image = submit(reviewed, team.annotator)
    assert image.review_state == ReviewState.SUBMITTED and not image.completed
    assert image.submitted_by == team.annotator
    assert ActivityEvent.objects.filter(action="image.submitted", image=image).exists()
    following = next_unprocessed_for(project=team.project, user=team.owner, current_id=None)
    assert following is not None and following.pk != image.pk


def test_submitting_twice_is_refused(team, reviewed):
    submit(reviewed, team.annotator)
    with pytest.raises(SubmitRefused, match="already submitted"):
        submit(reviewed, team.annotator)


def test_submitting_an_image_someone_else_holds_is_refused(team, reviewed):
    claims.claim_take(image=reviewed, user=team.owner)
    with pytest.raises(SubmitRefused, match="olive is working on this image"):
        submit(reviewed, team.annotator)


def test_accept_turns_the_image_green(team, reviewed):
    submit(reviewed, team.annotator)
    services.image_accept(image=reviewed, user=team.reviewer)
    reviewed.refresh_from_db()
    assert (
        reviewed.review_state == ReviewState.ACCEPTED and reviewed.status == ImageStatus.COMPLETED
    )
    assert ActivityEvent.objects.filter(action="image.accepted", image=reviewed).exists()


def test_accepting_twice_is_refused(team, reviewed):
    submit(reviewed, team.annotator)
    services.image_accept(image=reviewed, user=team.reviewer)
    with pytest.raises(services.ReviewRefused, match="already accepted"):
        services.image_accept(image=reviewed, user=team.owner)


def test_accepting_an_image_not_submitted_is_refused(team, reviewed):
    with pytest.raises(services.ReviewRefused, match="not submitted"):
        services.image_accept(image=reviewed, user=team.reviewer)


@pytest.mark.parametrize("role", ["annotator", "viewer"])
def test_annotators_and_viewers_cannot_review(team, reviewed, role):
    submit(reviewed, team.annotator)
    with pytest.raises(PermissionDenied):
        services.image_accept(image=reviewed, user=team.user(role))
    with pytest.raises(PermissionDenied):
        services.image_reject(image=reviewed, user=team.user(role), comment="No")


def test_an_outsider_reviewing_gets_not_found(team, reviewed):
    submit(reviewed, team.annotator)
    with pytest.raises(Http404):
        services.image_accept(image=reviewed, user=team.outsider)


def test_rejecting_needs_a_comment(team, reviewed):
    submit(reviewed, team.annotator)
    with pytest.raises(ValidationError, match="Write a rejection"):
        services.image_reject(image=reviewed, user=team.reviewer, comment="  ")
    reviewed.refresh_from_db()
    assert reviewed.review_state == ReviewState.SUBMITTED


def test_reject_sends_the_image_back_with_its_issues(team, reviewed):
    submit(reviewed, team.annotator)
    issue = services.IssueInput(body="Missed the top cell", point=[10, 12])
    services.image_reject(
        image=reviewed, user=team.reviewer, comment="Two cells missing", issues=[issue]
    )
    reviewed.refresh_from_db()
    assert reviewed.review_state == ReviewState.REJECTED
    assert reviewed.status != ImageStatus.COMPLETED
    pinned = Comment.objects.get(image=reviewed, is_issue=True)
    assert pinned.point == [10.0, 12.0] and pinned.resolved_at is None
    ImageClaim.objects.all().delete()
    served = next_unprocessed_for(project=team.project, user=team.annotator, current_id=None)
    assert served.pk == reviewed.pk


def test_an_issue_outside_the_image_is_refused_and_nothing_is_written(team, reviewed):
    submit(reviewed, team.annotator)
    issue = services.IssueInput(body="Here", point=[500, 12])
    with pytest.raises(ValidationError, match="outside the image"):
        services.image_reject(image=reviewed, user=team.reviewer, comment="No", issues=[issue])
    reviewed.refresh_from_db()
    assert reviewed.review_state == ReviewState.SUBMITTED and not Comment.objects.exists()


def test_submitting_with_open_issues_is_refused_until_they_are_resolved(team, reviewed):
    submit(reviewed, team.annotator)
    issue = services.IssueInput(body="Missed the top cell", point=[10, 12])
    services.image_reject(image=reviewed, user=team.reviewer, comment="Fix", issues=[issue])
    with pytest.raises(SubmitRefused, match="1 open issue .*Missed the top cell"):
        submit(reviewed, team.annotator)
    pinned = Comment.objects.get(is_issue=True)
    services.issue_resolve(comment=pinned, user=team.annotator, resolved=True)
    assert submit(reviewed, team.annotator).review_state == ReviewState.SUBMITTED


def test_an_owner_reopens_an_accepted_image(team, reviewed):
    submit(reviewed, team.annotator)
    services.image_accept(image=reviewed, user=team.reviewer)
    with pytest.raises(PermissionDenied):
        services.image_reopen(image=reviewed, user=team.reviewer)
    image = services.image_reopen(image=reviewed, user=team.owner)
    assert image.review_state == ReviewState.NONE and not image.completed


def test_comments_thread_and_viewers_cannot_comment(team, reviewed):
    first = services.comment_add(image=reviewed, user=team.reviewer, body="One cell or two?")
    reply = services.comment_add(image=reviewed, user=team.annotator, body="Two", parent=first)
    assert reply.parent_id == first.pk
    with pytest.raises(PermissionDenied):
        services.comment_add(image=reviewed, user=team.viewer, body="Hi")
    with pytest.raises(ValidationError):
        services.issue_resolve(comment=first, user=team.owner, resolved=True)
