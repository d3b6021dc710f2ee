import csv
import io
import json

import pytest

from projects.models import ActivityEvent, GroundTruthObject, Image, QualityScore
from projects.quality.services import ground_truth_mark
from tests.quality.conftest import rect

pytestmark = pytest.mark.django_db

SECRET_WORDS = ("ground_truth", "ground truth", "ground-truth", "honeypot", "quality")


@pytest.fixture
def worked(team, pool, work, second_annotator):
    """anna drew two objects on the first image and completed it; bob drew one on the
    second."""
    images = pool[1]
    work.draw(images[0], team.annotator, rect(0, 0, 10, 10), rect(20, 20, 30, 30))
    work.complete(images[0], team.annotator)
    work.draw(images[1], second_annotator, rect(5, 5, 15, 15))
    return images


def _csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_owner_reads_the_projects_activity_newest_first(team, worked, api_client):
    answer = api_client(team.owner).get(f"/api/projects/{team.project.pk}/activity/")
    assert answer.status_code == 200
    page = answer.json()
    assert page["count"] == 4
    rows = [(r["username"], r["action"], r["image_id"]) for r in page["results"]]
    assert rows == [
        ("bob", "object.created", worked[1].pk),
        ("anna", "image.completed", worked[0].pk),
        ("anna", "object.created", worked[0].pk),
        ("anna", "object.created", worked[0].pk),
    ]
    assert page["results"][0]["image_name"] == "img1.png"


def test_the_activity_filters_by_person_action_and_page(team, worked, api_client, second_annotator):
    owner = api_client(team.owner)
    url = f"/api/projects/{team.project.pk}/activity/"
    by_bob = owner.get(url, {"user": second_annotator.pk}).json()
    assert [r["username"] for r in by_bob["results"]] == ["bob"]
    objects = owner.get(url, {"action": "object.", "limit": 2}).json()
    assert objects["count"] == 3 and len(objects["results"]) == 2 and objects["next"]
    assert owner.get(url, {"since": "2999-01-01"}).json()["count"] == 0
    assert owner.get(url, {"until": "2999-01-01"}).json()["count"] == 4


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"user": "anna"}, "user"),
        ({"action": "x" * 40}, "action"),
    ],
)
def test_bad_activity_filters_are_a_400_naming_the_field(team, worked, api_client, query, field):
    answer = api_client(team.owner).get(f"/api/projects/{team.project.pk}/activity/", query)
    assert answer.status_code == 400 and field in answer.json()["error"]["fields"]


def test_an_annotator_reads_only_their_own_activity(team, worked, api_client):
    anna = api_client(team.annotator)
    page = anna.get(f"/api/projects/{team.project.pk}/activity/").json()
    assert {r["username"] for r in page["results"]} == {"anna"} and page["count"] == 3
    on_bobs_image = anna.get(f"/api/images/{worked[1].pk}/activity/").json()
    assert on_bobs_image["count"] == 0


def test_a_reviewer_reads_everyones_activity_a_viewer_none(team, worked, api_client):
    url = f"/api/projects/{team.project.pk}/activity/"
    assert api_client(team.reviewer).get(url).json()["count"] == 4
    refused = api_client(team.viewer).get(url)
    assert refused.status_code == 403 and "activity" in refused.json()["error"]["message"]


def test_an_images_activity_lists_its_events(team, worked, api_client):
    page = api_client(team.reviewer).get(f"/api/images/{worked[0].pk}/activity/").json()
    assert [r["action"] for r in page["results"]] == [
        "image.completed",
        "object.created",
        "object.created",
    ]
    assert page["results"][0]["data"] == {"objects": 2}


def test_the_csv_has_a_header_and_one_row_per_event_oldest_first(team, worked, api_client):
    answer = api_client(team.owner).get(f"/api/projects/{team.project.pk}/activity.csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    rows = _csv(answer)
    events = list(ActivityEvent.objects.filter(project=team.project).order_by("id"))
    assert [int(r["id"]) for r in rows] == [e.pk for e in events]
    assert [(r["user"], r["action"], r["image"]) for r in rows] == [
        ("anna", "object.created", "img0.png"),
        ("anna", "object.created", "img0.png"),
        ("anna", "image.completed", "img0.png"),
        ("bob", "object.created", "img1.png"),
    ]
    assert json.loads(rows[2]["data"]) == {"objects": 2}
    assert rows[0]["object_id"] == str(events[0].object_id)


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(team, pool, work, make_user, api_client):
    from projects import services
    from projects.models import Role

    sly = make_user("=HYPERLINK(1)")
    services.member_set(project=team.project, user=sly, role=Role.ANNOTATOR)
    work.draw(pool[1][0], sly, rect(0, 0, 4, 4))
    rows = _csv(api_client(team.owner).get(f"/api/projects/{team.project.pk}/activity.csv"))
    assert rows[0]["user"] == "'=HYPERLINK(1)"


def test_only_owners_download_the_csv(team, worked, api_client):
    url = f"/api/projects/{team.project.pk}/activity.csv"
    assert api_client(team.reviewer).get(url).status_code == 403
    assert api_client(team.annotator).get(url).status_code == 403


def test_the_dashboard_answers_each_annotators_numbers(team, worked, api_client):
    answer = api_client(team.reviewer).get(f"/api/projects/{team.project.pk}/dashboard/")
    assert answer.status_code == 200
    board = answer.json()
    rows = {r["username"]: r for r in board["rows"]}
    assert set(rows) == {"anna", "bob"}
    assert (rows["anna"]["images_completed"], rows["anna"]["objects_made"]) == (1, 2)
    assert (rows["bob"]["images_completed"], rows["bob"]["objects_made"]) == (0, 1)
    assert rows["anna"]["days"] == [
        {"day": board["days"][0], "images_completed": 1, "objects_made": 2}
    ]
    assert board["idle_cap_seconds"] == 300
    assert (
        api_client(team.annotator).get(f"/api/projects/{team.project.pk}/dashboard/").status_code
        == 403
    )


def test_marking_ground_truth_is_all_or_nothing(team, worked, api_client):
    url = f"/api/projects/{team.project.pk}/ground-truth/"
    owner = api_client(team.owner)
    refused = owner.post(url, {"images": [worked[0].pk, worked[1].pk]}, format="json")
    assert refused.status_code == 400
    assert "img1.png is not completed" in refused.json()["error"]["fields"]["images"][0]
    assert not Image.objects.filter(ground_truth=True).exists()
    assert not GroundTruthObject.objects.exists()

    marked = owner.post(url, {"images": [worked[0].pk], "honeypot": True}, format="json")
    assert marked.status_code == 200, marked.content
    assert marked.json() == {
        "images": [
            {"id": worked[0].pk, "ground_truth": True, "honeypot": True, "reference_objects": 2}
        ]
    }
    image = Image.objects.get(pk=worked[0].pk)
    assert not image.completed and image.mask_objects.count() == 0


def test_the_owner_reads_which_images_are_ground_truth(team, worked, api_client):
    url = f"/api/projects/{team.project.pk}/ground-truth/"
    owner = api_client(team.owner)
    assert owner.get(url).json() == {"images": []}
    owner.post(url, {"images": [worked[0].pk], "honeypot": False}, format="json")
    listed = owner.get(url).json()["images"]
    assert listed == [
        {"id": worked[0].pk, "ground_truth": True, "honeypot": False, "reference_objects": 2}
    ]
    one = owner.get(url, {"image": worked[1].pk}).json()["images"]
    assert one == [
        {"id": worked[1].pk, "ground_truth": False, "honeypot": False, "reference_objects": 0}
    ]
    foreign = owner.get(url, {"image": 10**12})
    assert foreign.status_code == 400 and "Not an image of this project" in foreign.content.decode()
    assert owner.get(url, {"image": "one"}).status_code == 400
    assert api_client(team.annotator).get(url).status_code == 403


def test_ground_truth_refuses_foreign_and_malformed_images(team, worked, api_client):
    owner = api_client(team.owner)
    url = f"/api/projects/{team.project.pk}/ground-truth/"
    foreign = owner.post(url, {"images": [worked[0].pk, 10**12]}, format="json")
    assert foreign.status_code == 400 and "Not images of this project" in foreign.content.decode()
    for body in (
        {"images": []},
        {"images": ["one"]},
        {},
        {"images": [worked[0].pk], "honeypot": "maybe"},
    ):
        assert owner.post(url, body, format="json").status_code == 400, body
    remove = f"/api/projects/{team.project.pk}/ground-truth/remove/"
    assert owner.post(remove, {"images": [10**12]}, format="json").status_code == 400


def test_removing_ground_truth_drops_the_reference_and_scores(team, worked, work, api_client):
    ground_truth_mark(
        project=team.project, user=team.owner, image_ids=[worked[0].pk], honeypot=True
    )
    work.draw(worked[0], team.annotator, rect(0, 0, 10, 10))
    work.complete(worked[0], team.annotator)
    assert QualityScore.objects.count() == 1
    answer = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/ground-truth/remove/",
        {"images": [worked[0].pk, worked[1].pk]},
        format="json",
    )
    assert answer.status_code == 200 and answer.json() == {"removed": 1}
    assert not QualityScore.objects.exists() and not GroundTruthObject.objects.exists()
    assert not Image.objects.filter(ground_truth=True).exists()


def test_an_annotators_answers_never_reveal_a_honeypot(team, pool, work, api_client, client):
    image = pool[1][0]
    work.draw(image, team.owner, rect(0, 0, 10, 10))
    work.complete(image, team.owner)
    ground_truth_mark(project=team.project, user=team.owner, image_ids=[image.pk], honeypot=True)
    anna = api_client(team.annotator)
    pid = team.project.pk
    answers = [
        anna.post(f"/api/images/{image.pk}/open/"),
        anna.get(f"/api/images/{image.pk}/"),
        anna.get(f"/api/projects/{pid}/images/"),
        anna.get(f"/api/projects/{pid}/overview/"),
        anna.get(f"/api/projects/{pid}/state/"),
    ]
    version = answers[0].json()["image"]["version"]
    answers.append(
        anna.post(
            f"/api/images/{image.pk}/objects/",
            {"version": version, "mask": {"size": [48, 64], "counts": [0, 48 * 64]}},
            format="json",
        )
    )
    answers.append(
        anna.post(f"/api/images/{image.pk}/complete/", {"completed": True}, format="json")
    )
    answers += [
        anna.get(f"/api/images/{image.pk}/records/"),
        anna.get(f"/api/images/{image.pk}/activity/"),
        anna.get(f"/api/projects/{pid}/activity/"),
        anna.get(f"/api/projects/{pid}/history/"),
    ]
    client.force_login(team.annotator)
    answers += [
        client.get(f"/projects/{pid}/"),
        client.get(f"/projects/{pid}/pool/"),
        client.get(f"/projects/{pid}/images/{image.pk}/"),
    ]
    assert QualityScore.objects.filter(user=team.annotator, image=image).exists()
    for answer in answers:
        assert answer.status_code in (200, 201), (answer.request["PATH_INFO"], answer.content[:300])
        text = answer.content.decode().lower()
        for word in SECRET_WORDS:
            assert word not in text, (answer.request["PATH_INFO"], word)
