"""A whole team flow against the production mode: PostgreSQL, Redis, daphne and one Celery
worker per queue, each its own process, driven over HTTP and the WebSocket."""

import json

from projects.encoding import rle_to_mask
from tests.deploy.helpers import click, job_events, project_with_pool
from tests.deploy.stack import wait_until


def test_a_team_annotates_and_exports_through_the_production_stack(stack, tmp_path):
    api, project_id, image_ids = project_with_pool(stack, "Production flow")
    with stack.websocket(project_id) as socket:
        answer = click(socket, image_ids[0], "first-click", timeout=60)
        assert answer["type"] == "prediction", answer
        mask = rle_to_mask(answer["data"]["masks"][0])
        assert mask.shape == (240, 320)
        version = api.get(f"/api/images/{image_ids[0]}/").json()["version"]
        saved = api.post(
            f"/api/images/{image_ids[0]}/objects/",
            json={"version": version, "mask": answer["data"]["masks"][0], "name": "first"},
        )
        assert saved.status_code == 201, saved.text

        job = api.post(
            f"/api/projects/{project_id}/automask/",
            json={"image_ids": image_ids[:2], "params": {"points_per_side": 4}},
        )
        assert job.status_code == 202, job.text
        events = job_events(socket, job.json()["id"], timeout=120)
    assert events[-1]["status"] == "done", (events[-1], stack.logs())
    assert events[-1]["done"] == events[-1]["total"] == 2
    assert any(event["status"] == "running" for event in events), (events, stack.logs())

    export = api.post(f"/api/projects/{project_id}/exports/", json={"format": "coco"})
    assert export.status_code == 202, export.text
    status = wait_until(
        lambda: (
            (s := api.get(f"/api/exports/{export.json()['job']['id']}/").json())["job"]["status"]
            == "done"
            and s
        ),
        60,
        "the export did not finish",
    )
    download = api.get(status["download_url"])
    assert download.status_code == 200
    coco = json.loads(download.content)
    assert len(coco["images"]) == 6
    assert len(coco["annotations"]) == 1, coco["annotations"]


def test_no_secret_reaches_the_logs_of_any_process(stack):
    # Runs after the flow above (and anything else in the session): every process logged.
    secrets = {
        "SECRET_KEY": stack.env["SECRET_KEY"],
        "database password": stack.postgres.password,
        "admin password": stack.env["ANNOTATOR_ADMIN_PASSWORD"],
        "API token": stack.token,
    }
    logs = {path.name: path.read_text(errors="replace") for path in stack.base.glob("*.log")}
    assert {"web.log", "worker-gpu.log", "worker-interactive.log"} <= set(logs)
    leaks = [
        (what, name)
        for what, value in secrets.items()
        for name, text in logs.items()
        if value in text
    ]
    assert not leaks, leaks
