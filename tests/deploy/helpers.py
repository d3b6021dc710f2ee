"""What the deployment tests do as a client: over REST with a token, over the WebSocket."""

import json
import time

import httpx
from websockets.sync.client import ClientConnection

from tests.deploy.stack import Stack, wait_until


def project_with_pool(stack: Stack, name: str) -> tuple[httpx.Client, int, list[int]]:
    """A new project with the photo folder as its source, scanned, and the micro model
    loaded; its image ids."""
    api = stack.api()
    project = api.post("/api/projects/", json={"name": name})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    source = api.post(
        f"/api/projects/{project_id}/sources/folder/", json={"path": str(stack.photos)}
    )
    assert source.status_code in (200, 201, 202), source.text

    def images() -> list[int]:
        listed = api.get(f"/api/projects/{project_id}/images/").json()
        rows = listed["results"] if isinstance(listed, dict) else listed
        return sorted(row["id"] for row in rows) if len(rows) == 6 else []

    image_ids = wait_until(images, 60, "the folder scan did not list the photos")
    model_load(stack, api, project_id)
    return api, project_id, image_ids


def model_load(stack: Stack, api: httpx.Client, project_id: int) -> None:
    from inference import checkpoints

    load = api.post(
        f"/api/projects/{project_id}/model/load/",
        json={
            "key": "manual",
            "checkpoint": str(stack.checkpoint),
            "config": checkpoints.TINY_CONFIG,
            "overrides": list(checkpoints.MICRO_OVERRIDES),
        },
    )
    assert load.status_code == 202, load.text
    wait_until(
        lambda: api.get(f"/api/projects/{project_id}/model/").json()["status"] == "loaded",
        60,
        "the model did not load:\n" + stack.log_tail("worker-interactive"),
    )


def click(socket: ClientConnection, image_id: int, request_id: str, timeout: float) -> dict:
    """Send a predict and return its answer, {"type", "data"} (events in between are
    skipped)."""
    data = {
        "request_id": request_id,
        "image_id": image_id,
        "point_coords": [[167, 115]],
        "point_labels": [1],
    }
    socket.send(json.dumps({"type": "predict", "data": data}))
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(socket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if message["data"].get("request_id") == request_id:
            return message


def job_events(socket: ClientConnection, job_id: int, timeout: float, until=None) -> list[dict]:
    """The job.progress events of `job_id`, until it ends (or `until(event)` holds)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if message.get("type") != "job.progress" or message["data"].get("id") != job_id:
            continue
        seen.append(message["data"])
        if until and until(message["data"]):
            return seen
        if message["data"]["status"] in ("done", "failed", "cancelled"):
            return seen
    raise AssertionError(f"job {job_id} did not end within {timeout}s: {seen[-3:]}")
