"""The editor's WebSocket: predict messages answered on the same socket, errors that say
what is wrong, only the latest click counts, and job progress relayed live. Every message,
both ways, is {"type", "data"}."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from annotator.asgi import application
from inference import dispatch
from inference.services import loading
from projects.encoding import rle_to_mask
from projects.models import Prediction
from tests.inference.conftest import iou, micro_ref, use_model

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(user, project_id: int) -> WebsocketCommunicator:
    cookie = await sync_to_async(_cookie)(user)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/projects/{project_id}/",
        headers=[(b"cookie", cookie), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    return communicator


async def _receive(communicator, wanted: str, timeout=10.0) -> dict:
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == wanted or message["type"] == "error":
            return message


def _predict(request_id: str, image_id: int, **prompt) -> dict:
    return {"type": "predict", "data": {"request_id": request_id, "image_id": image_id, **prompt}}


async def test_predict_message_is_answered_with_masks_and_saved(drawn_pool, team):
    images, drawings = drawn_pool
    communicator = await _connect(team.annotator, team.project.pk)
    await communicator.send_json_to(
        _predict("r1", images[0].pk, point_coords=[list(drawings[0].centre)], point_labels=[1])
    )
    reply = await _receive(communicator, "prediction")
    await communicator.disconnect()
    answer = reply["data"]
    assert reply["type"] == "prediction" and answer["request_id"] == "r1"
    assert answer["image_id"] == images[0].pk
    assert iou(rle_to_mask(answer["masks"][0]), drawings[0].truth) >= 0.9
    assert len(answer["scores"]) == len(answer["masks"])
    saved = await Prediction.objects.aget(pk=answer["prediction_id"])
    assert saved.created_by_id == team.annotator.pk


async def test_predict_with_a_bad_prompt_gets_a_clear_error(drawn_pool, team):
    images, _ = drawn_pool
    communicator = await _connect(team.owner, team.project.pk)
    await communicator.send_json_to(
        _predict("bad", images[0].pk, point_coords=[[500, 10]], point_labels=[1])
    )
    reply = await _receive(communicator, "prediction")
    await communicator.disconnect()
    assert reply == {
        "type": "error",
        "data": {
            "code": "invalid",
            "message": "point_coords: Coordinates lie outside the 160x120 image.",
            "fields": {"point_coords": ["Coordinates lie outside the 160x120 image."]},
            "request_id": "bad",
            "image_id": images[0].pk,
        },
    }
    assert not await Prediction.objects.aexists()


async def test_viewer_cannot_predict_and_is_told_why(drawn_pool, team):
    images, _ = drawn_pool
    communicator = await _connect(team.viewer, team.project.pk)
    await communicator.send_json_to(_predict("v", images[0].pk, box=[1, 1, 9, 9]))
    reply = await _receive(communicator, "prediction")
    await communicator.disconnect()
    assert reply["type"] == "error" and reply["data"]["code"] == "permission_denied"
    assert "viewer" in reply["data"]["message"]


async def test_image_of_another_project_is_not_found(drawn_pool, team):
    images, _ = drawn_pool
    communicator = await _connect(team.outsider, team.other_project.pk)
    await communicator.send_json_to(_predict("o", images[0].pk, box=[1, 1, 9, 9]))
    reply = await _receive(communicator, "prediction")
    await communicator.disconnect()
    assert reply["type"] == "error" and reply["data"]["code"] == "not_found"
    assert "No such image" in reply["data"]["message"]


async def test_a_newer_click_supersedes_one_still_queued(drawn_pool, team):
    images, drawings = drawn_pool
    communicator = await _connect(team.annotator, team.project.pk)
    gate = threading.Event()
    executor = dispatch.interactive_executor()
    executor.submit(gate.wait, 10)  # the model is busy with something else
    for request_id, x in (("old", 20), ("new", drawings[0].centre[0])):
        await communicator.send_json_to(
            _predict(
                request_id,
                images[0].pk,
                point_coords=[[x, drawings[0].centre[1]]],
                point_labels=[1],
            )
        )
    for _ in range(200):
        if executor._work_queue.qsize() == 2:
            break
        await asyncio.sleep(0.01)
    gate.set()
    replies = {}
    for _ in range(2):
        message = await communicator.receive_json_from(timeout=10)
        replies[message["data"]["request_id"]] = message
    await communicator.disconnect()
    assert replies["old"]["type"] == "error" and replies["old"]["data"]["code"] == "superseded"
    assert replies["new"]["type"] == "prediction"
    assert await Prediction.objects.acount() == 1


async def test_ping_and_other_messages_still_work(team):
    communicator = await _connect(team.viewer, team.project.pk)
    await communicator.send_json_to({"type": "ping", "data": {}})
    assert await communicator.receive_json_from() == {"type": "pong", "data": {}}
    await communicator.disconnect()


async def test_model_load_progress_and_state_reach_every_member(
    micro_choice, drawn_pool, team, eager_tasks
):
    owner = await _connect(team.owner, team.project.pk)
    viewer = await _connect(team.viewer, team.project.pk)
    job = await sync_to_async(loading.model_load_start)(
        project=team.project, user=team.owner, choice=micro_choice
    )
    for communicator in (owner, viewer):
        statuses, states = [], []
        while not states or states[-1]["status"] != "loaded":
            message = await communicator.receive_json_from(timeout=20)
            if message["type"] == "job.progress":
                statuses.append(message["data"]["status"])
            elif message["type"] == "model.state":
                states.append(message["data"])
        assert states[0]["status"] == "loading"
        assert states[-1]["active"]["checkpoint"] == micro_choice["checkpoint"]
        assert "running" in statuses
        await communicator.disconnect()
    await job.arefresh_from_db()
    assert job.status == "done"


async def test_prediction_runs_on_the_project_model(micro_checkpoint, drawn_pool, team):
    images, _ = drawn_pool
    await sync_to_async(use_model)(team.project, micro_ref(micro_checkpoint))
    communicator = await _connect(team.owner, team.project.pk)
    await communicator.send_json_to(_predict("m", images[0].pk, box=[40, 20, 130, 95]))
    reply = await _receive(communicator, "prediction")
    await communicator.disconnect()
    assert reply["type"] == "prediction" and len(reply["data"]["masks"]) == 3
    assert reply["data"]["model"]["checkpoint"] == str(micro_checkpoint)
