"""Every reply that carries an image carries the name a person knows it by, next to `path`."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Image
from tests.sources.conftest import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(team, api_client):
    """Two uploads of `a.png` (other bytes, two batches) and one `b.png`, through the API."""
    client = api_client(team.annotator)
    url = reverse("api:api-uploads", kwargs={"project_id": team.project.pk})
    answers = []
    for name, seed in (("a.png", 1), ("a.png", 2), ("b.png", 3)):
        file = SimpleUploadedFile(name, image_bytes(seed=seed), content_type="image/png")
        response = client.post(url, {"files": [file]}, format="multipart")
        assert response.status_code == 201, response.content
        answers.append(response.json()[0])
    return client, answers


def test_the_upload_answer_names_the_file_as_uploaded(uploaded, team):
    _, answers = uploaded
    assert [answer["image"]["name"] for answer in answers] == ["a.png", "a.png", "b.png"]
    first = Image.objects.get(pk=answers[0]["image"]["id"])
    assert answers[0]["image"]["path"] == first.path == f"{team.project.pk}/{first.key[:16]}/a.png"


def test_image_list_and_detail_carry_the_name(uploaded, team):
    client, answers = uploaded
    listed = client.get(reverse("api:api-images", kwargs={"project_id": team.project.pk})).json()
    assert [image["name"] for image in listed["results"]] == ["a.png", "a.png", "b.png"]
    detail = client.get(reverse("api:api-image", kwargs={"image_id": answers[2]["image"]["id"]}))
    assert detail.json()["name"] == "b.png"


def test_open_navigate_overview_and_history_carry_the_name(uploaded, team):
    client, answers = uploaded
    ids = [answer["image"]["id"] for answer in answers]
    opened = client.post(f"/api/images/{ids[1]}/open/").json()
    assert opened["image"]["name"] == "a.png" and opened["image"]["id"] == ids[1]

    project = team.project.pk
    step = client.get(f"/api/projects/{project}/navigate/?direction=next&from={ids[1]}").json()
    assert (step["image"]["id"], step["image"]["name"]) == (ids[2], "b.png")

    overview = client.get(f"/api/projects/{project}/overview/").json()
    assert [image["name"] for image in overview["results"]] == ["a.png", "a.png", "b.png"]

    answer = client.post(f"/api/images/{ids[0]}/complete-and-next/").json()
    assert (answer["next"]["id"], answer["next"]["name"]) == (ids[1], "a.png")

    history = client.get(f"/api/projects/{project}/history/").json()
    assert [(entry["image"]["id"], entry["image"]["name"]) for entry in history] == [
        (ids[0], "a.png")
    ]
