"""Assigning "the pool's current filter" covers every filter the pool panel offers, open
issues included, so the dialog hands out exactly the images the owner sees."""

import pytest

from projects.models import Comment, Image, ImageAssignment, Source
from tests.conftest import write_png


@pytest.fixture
def four(team, settings):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="up")
    images = []
    for i in range(4):
        write_png(settings.ANNOTATOR_UPLOAD_DIR / f"f{i}.png", seed=i)
        images.append(
            Image.objects.create(
                project=team.project, source=source, path=f"f{i}.png", width=64, height=48
            )
        )
    return images


def issue(image, author, *, resolved: bool = False) -> None:
    comment = Comment.objects.create(image=image, author=author, body="edge", is_issue=True)
    if resolved:
        Comment.objects.filter(pk=comment.pk).update(resolved_at=comment.created_at)


def test_assign_only_the_images_with_open_issues(team, four, api_client):
    issue(four[1], team.owner)
    issue(four[3], team.owner)
    issue(four[2], team.owner, resolved=True)
    owner = api_client(team.owner)
    url = f"/api/projects/{team.project.pk}/assignments/"
    body = {"user": "anna", "filter": {"open_issues": True}}
    preview = owner.post(url, {**body, "dry_run": True}, format="json")
    assert preview.json() == {"assigned": {"anna": 2}, "dry_run": True}
    assert not ImageAssignment.objects.exists()
    done = owner.post(url, body, format="json")
    assert done.status_code == 200, done.content
    assigned = set(ImageAssignment.objects.values_list("image_id", flat=True))
    assert assigned == {four[1].pk, four[3].pk}
    rest = owner.post(url, {"user": "anna", "filter": {"open_issues": False}}, format="json")
    assert rest.json() == {"assigned": {"anna": 2}}


def test_an_open_issues_filter_that_is_not_yes_or_no_is_refused(team, four, api_client):
    url = f"/api/projects/{team.project.pk}/assignments/"
    body = {"user": "anna", "filter": {"open_issues": "perhaps"}}
    answer = api_client(team.owner).post(url, body, format="json")
    assert answer.status_code == 400
    assert "open_issues" in str(answer.json()["error"])
