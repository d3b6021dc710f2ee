import datetime as dt

import pytest
from django.utils import timezone

from projects.models import ActivityEvent, Role
from projects.quality import selectors
from projects.quality.services import ground_truth_mark
from tests.quality.conftest import rect

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def _row(board, user):
    return next(row for row in board.rows if row.user_id == user.pk)


def _spread(user, *offsets: dt.timedelta) -> None:
    """Put the person's logged events, oldest first, at T0 + each offset: the work happened
    over hours, the test runs in a second."""
    events = list(ActivityEvent.objects.filter(user=user).order_by("id"))
    assert len(events) == len(offsets)
    for event, offset in zip(events, offsets, strict=True):
        ActivityEvent.objects.filter(pk=event.pk).update(at=T0 + offset)


def test_seconds_spent_caps_each_gap_at_five_minutes():
    minutes = [0, 2, 3, 60, 61]
    times = [T0 + dt.timedelta(minutes=m) for m in minutes]
    # 2 + 1 + (57 capped to 5) + 1 minutes
    assert selectors.seconds_spent(reversed(times)) == 9 * 60
    assert selectors.seconds_spent([T0]) == 0


def test_dashboard_counts_each_annotators_images_and_objects(team, pool, work, second_annotator):
    images = pool[1]
    anna, bob = team.annotator, second_annotator
    work.draw(images[0], anna, rect(0, 0, 10, 10), rect(20, 20, 30, 30))
    work.complete(images[0], anna)
    work.draw(images[1], bob, rect(5, 5, 15, 15))
    work.complete(images[1], bob)
    work.complete(images[1], bob, completed=False)

    board = selectors.project_dashboard(project=team.project)

    assert [row.username for row in board.rows] == ["anna", "bob"]
    assert (_row(board, anna).images_completed, _row(board, anna).objects_made) == (1, 2)
    # bob reopened his image: not complete now, though the day's plot keeps the completion
    assert (_row(board, bob).images_completed, _row(board, bob).objects_made) == (0, 1)
    today = timezone.now().date()
    assert board.days == [today]
    assert [(d.images_completed, d.objects_made) for d in _row(board, bob).days] == [(1, 1)]


def test_an_annotator_without_work_has_a_row_of_zeros(team, pool):
    board = selectors.project_dashboard(project=team.project)
    (row,) = board.rows
    assert (row.username, row.images_completed, row.objects_made, row.seconds_spent) == (
        "anna",
        0,
        0,
        0.0,
    )
    assert row.rejection_rate is None and row.mean_iou is None and board.days == []


def test_time_spent_adds_the_gaps_between_events_each_capped(team, pool, work):
    image = pool[1][0]
    work.draw(image, team.annotator, rect(0, 0, 10, 10), rect(20, 20, 30, 30))
    work.complete(image, team.annotator)
    # drew, drew two minutes later, completed after lunch
    _spread(
        team.annotator,
        dt.timedelta(0),
        dt.timedelta(minutes=2),
        dt.timedelta(hours=1),
    )
    row = _row(selectors.project_dashboard(project=team.project), team.annotator)
    assert row.seconds_spent == (2 + 5) * 60


def test_the_daily_series_fills_days_without_work_with_zeros(team, pool, work):
    images = pool[1]
    work.draw(images[0], team.annotator, rect(0, 0, 10, 10))
    work.complete(images[0], team.annotator)
    work.draw(images[1], team.annotator, rect(0, 0, 10, 10))
    _spread(
        team.annotator,
        dt.timedelta(0),
        dt.timedelta(minutes=3),
        dt.timedelta(days=2),
    )
    board = selectors.project_dashboard(project=team.project)
    assert board.days == [T0.date() + dt.timedelta(days=n) for n in range(3)]
    series = [(d.images_completed, d.objects_made) for d in _row(board, team.annotator).days]
    assert series == [(1, 1), (0, 0), (0, 1)]


def test_with_review_completed_means_accepted_and_rejections_count(team, pool, work):
    team.project.review_required = True
    team.project.save()
    image, other = pool[1][0], pool[1][1]
    work.draw(image, team.annotator, rect(0, 0, 10, 10))
    work.complete(image, team.annotator)
    work.reject(image, team.reviewer)
    work.complete(image, team.annotator)
    work.accept(image, team.reviewer)
    work.draw(other, team.annotator, rect(0, 0, 10, 10))
    work.complete(other, team.annotator)  # submitted, not yet decided

    board = selectors.project_dashboard(project=team.project)
    row = _row(board, team.annotator)
    assert (row.images_completed, row.submissions, row.rejections) == (1, 3, 1)
    assert row.rejection_rate == pytest.approx(1 / 3)
    assert [d.images_completed for d in row.days] == [1]
    assert team.reviewer.pk not in [r.user_id for r in board.rows]


def test_the_ground_truth_score_is_the_mean_of_the_annotators_scores(team, pool, work):
    first, second = pool[1][0], pool[1][1]
    for image in (first, second):
        work.draw(image, team.owner, rect(0, 0, 20, 20), rect(30, 30, 40, 40))
        work.complete(image, team.owner)
    ground_truth_mark(
        project=team.project, user=team.owner, image_ids=[first.pk, second.pk], honeypot=True
    )
    # exact on the first with one stray object; only one of two on the second
    work.draw(first, team.annotator, rect(0, 0, 20, 20), rect(30, 30, 40, 40), rect(50, 0, 60, 5))
    work.complete(first, team.annotator)
    work.draw(second, team.annotator, rect(0, 0, 20, 20))
    work.complete(second, team.annotator)

    row = _row(selectors.project_dashboard(project=team.project), team.annotator)
    assert row.scored_images == 2
    assert row.mean_iou == pytest.approx((1.0 + 0.5) / 2)
    assert (row.missed, row.extra) == (1, 1)
    assert row.images_completed == 2


def test_project_activity_filters_newest_first(team, pool, work):
    image = pool[1][0]
    work.draw(image, team.annotator, rect(0, 0, 10, 10), rect(20, 20, 30, 30))
    work.complete(image, team.annotator)
    everything = selectors.project_activity(project=team.project, user=team.owner, role=Role.OWNER)
    assert [e.action for e in everything] == ["image.completed", "object.created", "object.created"]

    def actions(**filters):
        found = selectors.project_activity(
            project=team.project,
            user=team.owner,
            role=Role.OWNER,
            filters=selectors.ActivityFilters(**filters),
        )
        return [e.action for e in found]

    assert actions(action="object.") == ["object.created", "object.created"]
    assert actions(action="image.completed") == ["image.completed"]
    assert actions(user_id=team.owner.pk) == []
    assert actions(image_id=pool[1][1].pk) == []
    later = timezone.now() + dt.timedelta(minutes=1)
    assert actions(since=later) == [] and len(actions(until=later)) == 3


def test_annotators_read_their_own_events_and_nobody_but_owners_ground_truth(
    team, pool, work, second_annotator
):
    image = pool[1][0]
    work.draw(image, team.owner, rect(0, 0, 10, 10))
    work.complete(image, team.owner)
    ground_truth_mark(project=team.project, user=team.owner, image_ids=[image.pk], honeypot=True)
    work.draw(image, team.annotator, rect(0, 0, 10, 10))
    work.complete(image, team.annotator)
    work.draw(pool[1][1], second_annotator, rect(0, 0, 5, 5))

    def seen(user, role):
        return {
            (e.user.username, e.action)
            for e in selectors.project_activity(project=team.project, user=user, role=role)
        }

    assert ("anna", "quality.scored") in seen(team.owner, Role.OWNER)
    assert ("olive", "ground_truth.set") in seen(team.owner, Role.OWNER)
    assert seen(team.annotator, Role.ANNOTATOR) == {
        ("anna", "object.created"),
        ("anna", "image.completed"),
    }
    by_reviewer = seen(team.reviewer, Role.REVIEWER)
    assert ("bob", "object.created") in by_reviewer
    assert not {a for _, a in by_reviewer if a.startswith(("ground_truth.", "quality."))}
    on_image = selectors.image_activity(image=image, user=team.annotator, role=Role.ANNOTATOR)
    assert [e.action for e in on_image] == ["image.completed", "object.created"]
