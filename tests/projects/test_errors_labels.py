"""A label name its project has already is refused with a sentence a person can act on, not
Django's `__all__: Label with this Project and Name already exists.`"""

import pytest

from projects.models import Label

pytestmark = pytest.mark.django_db


def test_adding_a_label_whose_name_is_taken_says_which(team, api_client):
    client = api_client(team.annotator)
    url = f"/api/projects/{team.project.pk}/labels/"
    assert client.post(url, {"name": "nucleus"}, format="json").status_code == 201
    response = client.post(url, {"name": " nucleus "}, format="json")
    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert message == 'A label named "nucleus" already exists in this project.'
    assert Label.objects.filter(project=team.project, name="nucleus").count() == 1


def test_renaming_a_label_to_a_taken_name_says_which(team, api_client):
    client = api_client(team.annotator)
    url = f"/api/projects/{team.project.pk}/labels/"
    client.post(url, {"name": "nucleus"}, format="json")
    other = client.post(url, {"name": "membrane"}, format="json").json()
    response = client.patch(f"/api/labels/{other['id']}/", {"name": "nucleus"}, format="json")
    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert message == 'A label named "nucleus" already exists in this project.'
    assert Label.objects.get(pk=other["id"]).name == "membrane"


def test_the_same_name_in_another_project_and_a_recolour_are_fine(team, api_client):
    client = api_client(team.owner)
    url = f"/api/projects/{team.project.pk}/labels/"
    label = client.post(url, {"name": "nucleus"}, format="json").json()
    recolour = client.patch(f"/api/labels/{label['id']}/", {"color": "#112233"}, format="json")
    assert recolour.status_code == 200, recolour.content
    other = client.post("/api/projects/", {"name": "Leaves"}, format="json").json()
    created = client.post(
        f"/api/projects/{other['id']}/labels/", {"name": "nucleus"}, format="json"
    )
    assert created.status_code == 201, created.content
