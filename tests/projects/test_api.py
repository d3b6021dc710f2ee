import pytest
from rest_framework.authtoken.models import Token

from projects.models import Membership, Project, Role

pytestmark = pytest.mark.django_db


def test_creating_a_project_makes_the_creator_its_owner(team, api_client):
    response = api_client(team.viewer).post("/api/projects/", {"name": "Leaves"}, format="json")
    assert response.status_code == 201, response.content
    project = Project.objects.get(pk=response.json()["id"])
    assert Membership.objects.get(project=project, user=team.viewer).role == Role.OWNER
    assert [label.name for label in project.labels.all()] == ["object"]


def test_a_duplicate_project_name_gets_an_actionable_error(team, api_client):
    response = api_client(team.owner).post("/api/projects/", {"name": "cells"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "exists already" in error["message"]
    assert "name" in error["fields"]


def test_project_list_shows_only_my_projects_with_my_role(team, api_client):
    listed = api_client(team.viewer).get("/api/projects/").json()
    assert [(p["name"], p["role"]) for p in listed] == [("Cells", "viewer")]


def test_the_last_owner_cannot_leave_or_be_demoted(team, api_client):
    client = api_client(team.owner)
    url = f"/api/projects/{team.project.pk}/members/{team.owner.pk}/"
    assert client.delete(url).status_code == 400
    response = client.patch(url, {"role": "viewer"}, format="json")
    assert response.status_code == 400
    assert "at least one owner" in response.json()["error"]["message"]
    client.patch(
        f"/api/projects/{team.project.pk}/members/{team.annotator.pk}/",
        {"role": "owner"},
        format="json",
    )
    assert client.patch(url, {"role": "viewer"}, format="json").status_code == 200


def test_adding_an_unknown_user_says_so(team, api_client):
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/members/",
        {"username": "nobody", "role": "viewer"},
        format="json",
    )
    assert response.status_code == 400
    assert "no user named 'nobody'" in response.json()["error"]["message"]


def test_ui_settings_sent_to_the_project_state_merge_into_my_own_settings(team, api_client):
    client = api_client(team.annotator)
    url = f"/api/projects/{team.project.pk}/state/"
    client.patch(url, {"ui_settings": {"opacity": 0.5, "tool": "brush"}}, format="json")
    response = client.patch(url, {"ui_settings": {"tool": "box"}}, format="json")
    assert response.json()["ui_settings"] == {"opacity": 0.5, "tool": "box"}
    assert Project.objects.get(pk=team.project.pk).ui_settings == {}
    mine = api_client(team.annotator).get(f"/api/projects/{team.project.pk}/my-settings/")
    assert mine.json() == {"opacity": 0.5, "tool": "box"}


def test_model_selection_is_not_writable_through_the_state_endpoint(team, api_client):
    url = f"/api/projects/{team.project.pk}/state/"
    api_client(team.owner).patch(url, {"model_selection": {"key": "x"}}, format="json")
    assert Project.objects.get(pk=team.project.pk).model_selection == {}


def test_label_colour_must_be_hex(team, api_client):
    response = api_client(team.annotator).post(
        f"/api/projects/{team.project.pk}/labels/",
        {"name": "leaf", "color": "green"},
        format="json",
    )
    assert response.status_code == 400
    assert "color" in response.json()["error"]["fields"]


def test_token_authentication_works_for_scripts(team, client):
    token = Token.objects.create(user=team.viewer)
    response = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()[0]["name"] == "Cells"


def test_an_obtained_token_authenticates(team, client):
    response = client.post("/api/auth/token/", {"username": "anna", "password": "pw-anna"})
    token = response.json()["token"]
    listed = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.json()[0]["role"] == "annotator"


def test_anonymous_api_calls_are_challenged(client):
    response = client.get("/api/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_openapi_schema_documents_the_api(team, client):
    client.force_login(team.viewer)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["info"]["title"] == "Annotator API"
    assert "/api/projects/{project_id}/images/" in schema["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content.lower()


def test_the_image_list_is_paginated(pool, team, api_client):
    page = api_client(team.viewer).get(f"/api/projects/{team.project.pk}/images/?limit=2").json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["results"][0]["status"] == "unprocessed"


def test_the_openapi_schema_is_valid_and_free_of_warnings(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    assert "/api/images/{image_id}/open/" in target.read_text()
