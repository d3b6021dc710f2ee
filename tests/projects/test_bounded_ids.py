"""An id is bounded where a route reads it: past 2**63 - 1 (or below 1, or no whole number)
it is a 404 in a path, a 400 naming the field in a query string or a body, and an error
message on the WebSocket; never the database's overflow, a 500."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotator.asgi import application
from annotator.ids import ID_MAX, IdConverter, parse_id
from tests.conftest import write_png
from tests.projects import test_access_matrix as matrix

HUGE = 10**24  # 25 digits
ID_MESSAGE = f"Must be an id: a whole number from 1 to {ID_MAX}."
scene = matrix.scene


def _converters(patterns) -> dict[str, dict]:
    """Each URL pattern's route, with the converters of its parameters (the admin's aside)."""
    found = {}
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace not in matrix.EXCLUDED_NAMESPACES:
                found |= _converters(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            found[str(pattern.pattern)] = pattern.pattern.converters
    return found


def test_every_path_id_is_read_by_the_bounded_converter():
    routes = _converters(get_resolver().url_patterns)
    named = {route: c for route, c in routes.items() if c}
    assert len(named) > 40
    for route, converters in named.items():
        for name, converter in converters.items():
            assert isinstance(converter, IdConverter), f"{route}: {name} is not <id:{name}>"


@pytest.mark.parametrize(
    "value, expected",
    [
        (1, 1),
        ("42", 42),
        (ID_MAX, ID_MAX),
        (str(ID_MAX), ID_MAX),
        (ID_MAX + 1, None),
        (HUGE, None),
        (str(HUGE), None),
        (0, None),
        (-5, None),
        ("-5", None),
        (True, None),
        (1e22, None),
        (3.0, None),
        ("3.0", None),
        ("١٢", None),
        ("", None),
        (None, None),
        ([1], None),
    ],
)
def test_an_id_is_a_whole_number_from_1_to_the_int64_maximum(value, expected):
    assert parse_id(value) == expected


def _path_ids(name: str) -> bool:
    resolver = get_resolver()
    *namespaces, view = name.split(":")
    for namespace in namespaces:
        resolver = resolver.namespace_dict[namespace][1]
    return any(converters for *_, converters in resolver.reverse_dict.getlist(view))


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in matrix.ROUTES if _path_ids(r.name)], ids=str)
def test_a_25_digit_id_in_any_path_is_not_found(route, scene, client):
    client.force_login(scene.team.owner)
    url = reverse(route.name, kwargs={name: HUGE for name in route.kwargs(scene)})
    data = route.data(scene) if route.data else None
    if route.data_format == "json" and data is not None:
        response = getattr(client, route.method)(url, data, content_type="application/json")
    elif data is not None:
        response = getattr(client, route.method)(url, data)
    else:
        response = getattr(client, route.method)(url)
    assert response.status_code == 404, response.content[:300]
    if url.startswith("/api/"):
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("value", [ID_MAX, ID_MAX + 1, 0])
def test_an_image_id_at_and_past_the_bound_is_not_found(value, team, api_client):
    response = api_client(team.owner).get(f"/api/images/{value}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def _invalid(response, field: str) -> str:
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert field in error["fields"]
    return error["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["source", "from"])
@pytest.mark.parametrize("value", [str(HUGE), "0", "-3", "1e22", "x", "²"])
def test_an_id_in_the_query_string_that_is_no_id_is_refused(query, value, team, api_client):
    route = "overview" if query == "source" else "navigate"
    response = api_client(team.owner).get(
        f"/api/projects/{team.project.pk}/{route}/", {query: value}
    )
    assert ID_MESSAGE in _invalid(response, query)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [HUGE, 1e22, True, -1, 0, "x", 2.5])
def test_automask_image_ids_that_are_no_ids_are_refused(value, team, pool, api_client):
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/automask/", {"image_ids": [value]}, format="json"
    )
    assert ID_MESSAGE in _invalid(response, "image_ids")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/projects/{p}/exports/", {"scope": "image", "image_id": HUGE}, "image_id"),
        ("/api/projects/{p}/exports/", {"scope": "filter", "source_id": HUGE}, "source_id"),
        ("/api/projects/{p}/sources/azure/", {"credential_id": HUGE}, "credential_id"),
        (
            "/api/images/{i}/predict/",
            {"box": [1, 1, 9, 9], "mask_input_prediction": HUGE},
            "mask_input_prediction",
        ),
        ("/api/images/{i}/promote/", {"version": 0, "mask_ids": [HUGE]}, "mask_ids"),
        ("/api/images/{i}/promote/", {"version": 0, "run_id": HUGE}, "run_id"),
        (
            "/api/images/{i}/objects/",
            {"version": 0, "points": [[0, 0], [5, 0], [5, 5]], "label_id": HUGE},
            "label_id",
        ),
    ],
)
def test_an_id_in_a_json_body_that_is_no_id_is_refused(path, body, field, team, pool, api_client):
    url = path.format(p=team.project.pk, i=pool[1][0].pk)
    response = api_client(team.owner).post(url, body, format="json")
    assert ID_MESSAGE in _invalid(response, field)


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", [1], {"a": 1}, HUGE])
@pytest.mark.parametrize("kind, field", [("filter", "source_id"), ("image", "image_id")])
def test_a_saved_export_choice_that_is_no_id_names_nothing(
    kind, field, value, team, pool, api_client
):
    owner = api_client(team.owner)
    project = f"/api/projects/{team.project.pk}"
    choices = {"choices": {"scope": {"kind": kind, field: value}}}
    saved = owner.patch(f"{project}/state/", {"export_settings": choices}, format="json")
    assert saved.status_code == 200
    response = owner.post(f"{project}/exports/", {}, format="json")
    if kind == "filter":
        assert response.status_code == 202
    else:
        assert "Choose an image" in _invalid(response, "image_id")


@pytest.mark.django_db
def test_an_upload_into_a_source_that_is_no_id_is_refused(team, pool, api_client, tmp_path):
    upload = SimpleUploadedFile("a.png", write_png(tmp_path / "a.png"), "image/png")
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/uploads/", {"files": [upload], "source": str(HUGE)}
    )
    assert ID_MESSAGE in _invalid(response, "source")


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["images", "overview"])
def test_a_page_limit_past_int64_is_taken_as_the_largest_page(route, team, pool, api_client):
    response = api_client(team.owner).get(
        f"/api/projects/{team.project.pk}/{route}/", {"limit": str(HUGE)}
    )
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


@pytest.mark.django_db
def test_the_pool_page_ignores_ids_and_offsets_past_int64(team, pool, client):
    client.force_login(team.owner)
    response = client.get(
        f"/projects/{team.project.pk}/pool/", {"source": str(HUGE), "offset": str(HUGE)}
    )
    assert response.status_code == 200


async def _socket(user, path: str) -> tuple[WebsocketCommunicator, bool]:
    def cookie() -> bytes:
        browser = Client()
        browser.force_login(user)
        return f"sessionid={browser.cookies['sessionid'].value}".encode()

    headers = [(b"cookie", await sync_to_async(cookie)()), (b"origin", b"http://127.0.0.1")]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.mark.django_db(transaction=True)
async def test_a_socket_for_a_project_id_past_int64_is_refused(team):
    _, connected = await _socket(team.owner, f"/ws/projects/{HUGE}/")
    assert not connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "message, says",
    [
        ({"type": "open_image", "data": {"image_id": HUGE}}, "No such image"),
        ({"type": "open_image", "data": {"image_id": 1e22}}, "No such image"),
        ({"type": "predict", "data": {"image_id": HUGE, "box": [1, 1, 9, 9]}}, "image_id: Must be"),
        ({"type": "predict", "data": {"image_id": True, "box": [1, 1, 9, 9]}}, "image_id: Must be"),
        (
            {"type": "predict", "data": {"image_id": "IMAGE", "mask_input_prediction": HUGE}},
            "mask_input_prediction: " + ID_MESSAGE,
        ),
    ],
)
async def test_an_id_in_a_socket_message_that_is_no_id_is_answered_with_an_error(
    message, says, team, pool
):
    communicator, connected = await _socket(team.owner, f"/ws/projects/{team.project.pk}/")
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    data = {**message["data"], "request_id": "r1"}
    if data.get("image_id") == "IMAGE":
        data["image_id"] = pool[1][0].pk
    await communicator.send_json_to({**message, "data": data})
    reply = await communicator.receive_json_from(timeout=5)
    assert reply["type"] == "error"
    assert says in reply["data"]["message"]
    await communicator.disconnect()
