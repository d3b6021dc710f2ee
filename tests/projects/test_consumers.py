import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from annotator.asgi import application
from projects.events import apublish, project_group, user_group

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(project_id: int, user=None) -> tuple[WebsocketCommunicator, bool, object]:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        client = Client()
        await sync_to_async(client.force_login)(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, f"/ws/projects/{project_id}/", headers)
    connected, detail = await communicator.connect()
    return communicator, connected, detail


async def test_a_member_connects_and_hears_project_and_user_events(team):
    communicator, connected, _ = await connect(team.project.pk, team.viewer)
    assert connected
    hello = await communicator.receive_json_from()
    assert hello == {"type": "hello", "data": {"project": team.project.pk, "role": "viewer"}}

    await apublish(project_group(team.project.pk), "job.progress", {"done": 3, "total": 10})
    assert await communicator.receive_json_from() == {
        "type": "job.progress",
        "data": {"done": 3, "total": 10},
    }
    await apublish(user_group(team.viewer.pk), "model.loaded", {"key": "sam2.1_hiera_tiny"})
    assert (await communicator.receive_json_from())["type"] == "model.loaded"
    await communicator.disconnect()


async def test_events_of_other_projects_do_not_reach_a_member(team):
    communicator, _, _ = await connect(team.project.pk, team.viewer)
    await communicator.receive_json_from()
    await apublish(project_group(team.other_project.pk), "job.progress", {"done": 1})
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_an_outsider_is_refused(team):
    communicator, connected, _ = await connect(team.project.pk, team.outsider)
    assert not connected


async def test_an_anonymous_visitor_is_refused(team):
    communicator, connected, _ = await connect(team.project.pk)
    assert not connected


async def test_a_foreign_origin_is_refused(team):
    client = Client()
    await sync_to_async(client.force_login)(team.owner)
    headers = [
        (b"origin", b"http://evil.example"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]
    communicator = WebsocketCommunicator(application, f"/ws/projects/{team.project.pk}/", headers)
    connected, _ = await communicator.connect()
    assert not connected


async def test_unknown_messages_get_a_clear_error(team):
    communicator, _, _ = await connect(team.project.pk, team.annotator)
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "teleport", "data": {}})
    reply = await communicator.receive_json_from()
    assert reply["type"] == "error"
    assert "teleport" in reply["data"]["message"]
    await communicator.send_json_to({"type": "ping", "data": {}})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_a_message_out_of_its_envelope_gets_a_clear_error(team):
    communicator, _, _ = await connect(team.project.pk, team.annotator)
    await communicator.receive_json_from()
    for sent, says in (
        ([1, 2], '{"type": <name>, "data": {...}}'),
        ({"type": "open_image", "data": 7}, "data: Must be an object."),
    ):
        await communicator.send_json_to(sent)
        reply = await communicator.receive_json_from()
        assert reply["type"] == "error" and reply["data"]["code"] == "invalid"
        assert says in reply["data"]["message"]
    await communicator.disconnect()


async def next_of_type(communicator, kind: str) -> dict:
    for _ in range(10):
        message = await communicator.receive_json_from(timeout=2)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


async def test_members_see_who_else_has_an_image_open(team, pool):
    image = pool[1][0]
    anna, _, _ = await connect(team.project.pk, team.annotator)
    olive, _, _ = await connect(team.project.pk, team.owner)
    await anna.send_json_to({"type": "open_image", "data": {"image_id": image.pk}})
    seen = await next_of_type(olive, "presence")
    assert seen["data"] == {
        "image_id": image.pk,
        "users": [{"user_id": team.annotator.pk, "username": "anna"}],
    }

    await olive.send_json_to({"type": "open_image", "data": {"image_id": image.pk}})
    both = await next_of_type(anna, "presence")
    both = await next_of_type(anna, "presence") if len(both["data"]["users"]) < 2 else both
    assert {u["username"] for u in both["data"]["users"]} == {"anna", "olive"}

    await anna.disconnect()
    left = await next_of_type(olive, "presence")
    while len(left["data"]["users"]) != 1:
        left = await next_of_type(olive, "presence")
    assert left["data"]["users"] == [{"user_id": team.owner.pk, "username": "olive"}]
    await olive.disconnect()


async def test_an_image_of_another_project_cannot_be_opened_for_presence(team):
    from projects.models import Image, Source

    source = await Source.objects.acreate(project=team.other_project, kind="upload", name="x")
    foreign = await Image.objects.acreate(project=team.other_project, source=source, path="x.png")
    communicator, _, _ = await connect(team.project.pk, team.annotator)
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "open_image", "data": {"image_id": foreign.pk}})
    reply = await communicator.receive_json_from()
    assert reply["type"] == "error" and "No such image" in reply["data"]["message"]
    assert reply["data"]["code"] == "not_found"
    await communicator.disconnect()
