"""What people with the project open are told while the pool changes."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse

from projects.events import project_group


def _listen(project_id: int) -> tuple:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(project_group(project_id), channel)
    return layer, channel


def _received(layer, channel) -> list[dict]:
    async def drain() -> list[dict]:
        events = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=0.2)
            except TimeoutError:
                return events
            events.append(message["event"])

    return async_to_sync(drain)()


def test_a_scan_reports_its_result_to_the_project(team, api_client, folder_root, eager_tasks):
    layer, channel = _listen(team.project.pk)
    api_client(team.owner).post(
        reverse("api:api-source-create-folder", kwargs={"project_id": team.project.pk}),
        {"path": str(folder_root)},
        format="json",
    )
    events = [e["data"] for e in _received(layer, channel) if e["type"] == "job.progress"]
    finished = [e for e in events if e["status"] == "done"]
    assert len(finished) == 1
    assert finished[0]["kind"] == "source_scan" and finished[0]["result"]["added"] == 3
