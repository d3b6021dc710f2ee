import pytest

from projects.models import ReviewState


@pytest.fixture
def submitted(team, pool, api_client):
    team.project.review_required = True
    team.project.save()
    image = pool[1][0]
    done = api_client(team.annotator).post(
        f"/api/images/{image.pk}/complete/", {"completed": True}, format="json"
    )
    assert done.status_code == 200 and done.json()["review_state"] == ReviewState.SUBMITTED
    return image


def test_reject_with_a_pinned_issue_then_the_annotator_reads_it(team, submitted, api_client):
    rita = api_client(team.reviewer)
    queue = rita.get(f"/api/projects/{team.project.pk}/review-queue/").json()
    assert queue == {"next": submitted.pk, "queue": 1}
    answer = rita.post(
        f"/api/images/{submitted.pk}/reject/",
        {"comment": "Missing a cell", "issues": [{"body": "Here", "point": [5, 6]}]},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["image"]["review_state"] == "rejected"
    read = api_client(team.annotator).get(f"/api/images/{submitted.pk}/comments/").json()
    assert read["latest_review"]["comment"] == "Missing a cell" and read["open_issues"] == 1
    assert [t["point"] for t in read["threads"] if t["is_issue"]] == [[5.0, 6.0]]


def test_rejecting_without_a_comment_is_a_400_with_the_error_body(team, submitted, api_client):
    answer = api_client(team.reviewer).post(
        f"/api/images/{submitted.pk}/reject/", {"comment": ""}, format="json"
    )
    assert answer.status_code == 400 and "comment" in answer.json()["error"]["fields"]


def test_accepting_twice_is_a_409(team, submitted, api_client):
    rita = api_client(team.reviewer)
    assert rita.post(f"/api/images/{submitted.pk}/accept/").status_code == 200
    again = rita.post(f"/api/images/{submitted.pk}/accept/")
    assert again.status_code == 409 and "already accepted" in again.json()["error"]["message"]


def test_the_pool_filters_images_with_open_issues(team, submitted, api_client):
    api_client(team.reviewer).post(
        f"/api/images/{submitted.pk}/reject/",
        {"comment": "Fix", "issues": [{"body": "Edge"}]},
        format="json",
    )
    page = (
        api_client(team.viewer)
        .get(f"/api/projects/{team.project.pk}/overview/?open_issues=true")
        .json()
    )
    assert [(i["id"], i["open_issues"]) for i in page["results"]] == [(submitted.pk, 1)]
