"""Every error the API gives, whatever raised it, reaches the client as one body:
{"error": {"code", "message", "fields"}}, and a stale write adds the current state."""

import json

import pytest

from annotator.asgi import application
from projects.encoding import mask_to_rle
from tests.workflow.conftest import rect

pytestmark = pytest.mark.django_db


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def test_a_services_validation_error_is_400_with_the_fields(team, api_client):
    response = api_client(team.owner).post("/api/projects/", {"name": "Cells"}, format="json")
    assert error_of(response, 400) == {
        "code": "invalid",
        "message": "name: A project named 'Cells' exists already.",
        "fields": {"name": ["A project named 'Cells' exists already."]},
    }


def test_a_role_that_may_not_is_403(team, api_client):
    response = api_client(team.viewer).post(
        f"/api/projects/{team.project.pk}/labels/", {"name": "cell"}, format="json"
    )
    error = error_of(response, 403)
    assert error["code"] == "permission_denied"
    assert error["message"].startswith("Your role in this project is viewer")
    assert error["fields"] is None


def test_an_outsider_is_told_no_such_project_with_404(team, api_client):
    response = api_client(team.outsider).get(f"/api/projects/{team.project.pk}/")
    assert error_of(response, 404) == {
        "code": "not_found",
        "message": "No such project.",
        "fields": None,
    }


def test_a_stale_version_is_409_with_the_current_state(pool, team, api_client):
    image = pool[1][0]
    annotator = api_client(team.annotator)
    seen = annotator.post(f"/api/images/{image.pk}/open/").json()["image"]["version"]
    created = annotator.post(
        f"/api/images/{image.pk}/objects/",
        {"version": seen, "mask": mask_to_rle(rect(0, 0, 10, 10))},
        format="json",
    ).json()
    response = api_client(team.owner).post(
        f"/api/images/{image.pk}/objects/",
        {"version": seen, "mask": mask_to_rle(rect(20, 20, 30, 30))},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"error", "current"}
    assert body["error"]["code"] == "stale_version" and body["error"]["fields"] is None
    assert body["current"]["image"]["version"] == created["image"]["version"]
    objects = body["current"]["records"]["objects"]
    assert [o["id"] for o in objects] == [created["object"]["id"]]


def test_an_image_whose_file_is_gone_is_409_without_a_current_state(
    pool, team, api_client, settings
):
    image = pool[1][0]
    (settings.ANNOTATOR_UPLOAD_DIR / image.path).unlink()
    response = api_client(team.annotator).post(f"/api/images/{image.pk}/open/")
    error = error_of(response, 409)
    assert error["code"] == "image_unavailable"
    assert error["message"].startswith("The image cannot be read:")


def test_an_unknown_api_url_is_404_with_the_body(team, client):
    client.force_login(team.owner)
    assert error_of(client.get("/api/no-such-route/"), 404) == {
        "code": "not_found",
        "message": "Not found.",
        "fields": None,
    }


@pytest.mark.parametrize(
    "method, path, body, status, code",
    [
        ("get", "/api/projects/", None, 401, "not_authenticated"),
        ("put", "/api/projects/", "{}", 405, "method_not_allowed"),
        ("post", "/api/projects/", "{not json", 400, "parse_error"),
    ],
)
def test_drfs_own_refusals_have_the_same_body(method, path, body, status, code, team, api_client):
    client = api_client(None if status == 401 else team.owner)
    kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
    response = getattr(client, method)(path, **kwargs)
    error = error_of(response, status)
    assert error["code"] == code and error["message"] and error["fields"] is None
    if status == 401:
        assert response["WWW-Authenticate"] == "Token"


async def test_an_oversized_request_is_413_with_the_body(settings):
    settings.ANNOTATOR_MAX_REQUEST_MB = 1
    sent = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/projects/",
        "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(2 * 1024 * 1024).encode())],
        "query_string": b"",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }

    async def receive():
        raise AssertionError("the body must not be read")

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    start, answer = sent
    assert start["status"] == 413
    body = json.loads(answer["body"])
    assert set(body) == {"error"}
    assert body["error"]["code"] == "request_too_large"
    assert "1 MB" in body["error"]["message"] and body["error"]["fields"] is None
