"""Faults a team's deployment meets, each against the running production stack: a worker
killed mid-job or mid-click, Redis restarting. Each test leaves the stack whole again."""

import subprocess
import sys
import time

import httpx

from tests.deploy.helpers import click, job_events, project_with_pool
from tests.deploy.stack import ROOT, wait_until


def test_a_pool_automask_survives_its_worker_being_killed(stack):
    api, project_id, image_ids = project_with_pool(stack, "Killed worker")
    with stack.websocket(project_id) as socket:
        job = api.post(
            f"/api/projects/{project_id}/automask/", json={"params": {"points_per_side": 16}}
        ).json()
        before = job_events(socket, job["id"], 120, until=lambda e: e["done"] >= 1)
        stack.worker_kill("gpu")
        killed_at = api.get(f"/api/jobs/{job['id']}/").json()
        assert killed_at["status"] == "running", (before, killed_at)
        assert 1 <= killed_at["done"] < len(image_ids), killed_at

        stack.worker_start("gpu")
        stack.workers_wait_ready()
        after = job_events(socket, job["id"], 120)
    assert after[-1]["status"] == "done", (after[-1], stack.log_tail("worker-gpu"))
    assert after[-1]["done"] == after[-1]["total"] == len(image_ids)
    runs = stack.postgres.query(
        "SELECT image_id, count(*) FROM projects_automaskrun WHERE job_id = %s "
        "GROUP BY image_id ORDER BY image_id",
        job["id"],
    )
    assert runs == [(image_id, 1) for image_id in image_ids]


def test_a_click_held_by_a_dead_worker_is_answered_with_an_error_in_bounded_time(stack):
    api, project_id, image_ids = project_with_pool(stack, "Dead click worker")
    # The images the killed worker serves (even ids go to queue "interactive").
    mine = [image_id for image_id in image_ids if image_id % 2 == 0]
    with stack.websocket(project_id) as socket:
        assert click(socket, mine[0], "warm", timeout=60)["type"] == "prediction"
        stack.worker_kill("interactive")
        started = time.monotonic()
        answer = click(socket, mine[1], "orphan", timeout=30)
        waited = time.monotonic() - started
        assert answer["type"] == "error" and answer["data"]["code"] == "timeout", answer
        assert "No model worker answered within 8 s" in answer["data"]["message"]
        assert waited < 15, waited

        stack.worker_start("interactive")
        stack.workers_wait_ready()
        # As the message says, the person clicks again. The new worker loads the model on
        # its first task (the orphaned click, handed back after the broker's visibility
        # timeout, may come first), which on a busy machine can outlast one click's 8 s.
        for attempt in range(4):
            again = click(socket, mine[1], f"again-{attempt}", timeout=60)
            if again["type"] == "prediction":
                break
            assert again["data"]["code"] == "timeout", again
    assert again["type"] == "prediction", again


def healthz(stack) -> httpx.Response:
    return httpx.get(f"{stack.url}/healthz", timeout=10)


def container_health_check(stack) -> subprocess.CompletedProcess:
    port = stack.url.rsplit(":", 1)[1]
    return subprocess.run(
        [sys.executable, "-m", "annotator.healthcheck", port],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_web_tier_reports_a_redis_restart_and_reconnects_with_nothing_lost(stack):
    api, project_id, image_ids = project_with_pool(stack, "Redis restart")
    # As the editor does: open the image (which reads its size), then draw on it.
    assert api.post(f"/api/images/{image_ids[0]}/open/").status_code == 200
    version = api.get(f"/api/images/{image_ids[0]}/").json()["version"]
    saved = api.post(
        f"/api/images/{image_ids[0]}/objects/",
        json={"version": version, "points": [[10, 10], [60, 10], [60, 50]], "name": "kept"},
    )
    assert saved.status_code == 201, saved.text
    assert container_health_check(stack).returncode == 0
    assert "running" in automask_statuses(stack, api, project_id, image_ids[:1])

    stack.redis.stop()
    down = healthz(stack)
    assert down.status_code == 503
    assert down.json() == {"status": "down", "database": "ok", "redis": "down"}
    check = container_health_check(stack)
    assert check.returncode == 1 and "redis" in check.stdout

    stack.redis.start()
    assert healthz(stack).json() == {"status": "ok", "database": "ok", "redis": "ok"}
    records = api.get(f"/api/images/{image_ids[0]}/records/").json()
    assert "kept" in str(records)

    # Channels, the broker and the workers are back: a click goes all the way round. The
    # workers reconnect to the broker by themselves; until they have, a click can time out,
    # and this client clicks again, as a person would.
    def click_on_a_fresh_socket():
        with stack.websocket(project_id) as socket:
            return click(socket, image_ids[2], f"after-{time.monotonic()}", 20)

    answer = wait_until(
        lambda: (a := click_on_a_fresh_socket())["type"] == "prediction" and a,
        60,
        "no click was answered after Redis came back:\n" + stack.logs(),
        interval=1,
    )
    assert answer["data"]["masks"]

    # The first event a worker sends after the restart reaches the browser, though the
    # connection it sent the last one on was closed by Redis.
    assert "running" in automask_statuses(stack, api, project_id, image_ids[1:2])


def automask_statuses(stack, api, project_id: int, image_ids: list[int]) -> list[str]:
    """The statuses a pool automask job's events show the browser, until it is done."""
    with stack.websocket(project_id) as socket:
        job = api.post(
            f"/api/projects/{project_id}/automask/",
            json={"image_ids": image_ids, "params": {"points_per_side": 4}},
        )
        assert job.status_code == 202, job.text
        events = job_events(socket, job.json()["id"], timeout=120)
    assert events[-1]["status"] == "done", (events, stack.logs())
    return [event["status"] for event in events]


def test_a_model_download_cut_midway_is_never_loaded_and_resumes(stack):
    api = stack.api()
    project_id = api.post("/api/projects/", json={"name": "Cut download"}).json()["id"]
    target = stack.base / "var" / "models"
    stack.mirror.drop_after = 3 * 1024 * 1024
    try:
        job = api.post(
            f"/api/projects/{project_id}/model/download/", json={"key": "sam2.1_hiera_tiny"}
        )
        assert job.status_code == 202, job.text
        failed = wait_until(
            lambda: (
                (j := api.get(f"/api/jobs/{job.json()['id']}/").json())["status"] == "failed" and j
            ),
            60,
            "the cut download did not fail:\n" + stack.log_tail("worker-default"),
        )
    finally:
        stack.mirror.drop_after = None
    assert "resume" in failed["message"], failed
    assert [p.name for p in target.rglob("*.pt")] == [], "a partial file looks like a checkpoint"
    load = api.post(f"/api/projects/{project_id}/model/load/", json={"key": "sam2.1_hiera_tiny"})
    assert load.status_code == 400 and "download it first" in load.json()["error"]["message"]

    again = api.post(
        f"/api/projects/{project_id}/model/download/", json={"key": "sam2.1_hiera_tiny"}
    ).json()
    done = wait_until(
        lambda: (
            (j := api.get(f"/api/jobs/{again['id']}/").json())["status"] in ("done", "failed") and j
        ),
        60,
        "the resumed download did not end",
    )
    assert done["status"] == "done", done
    assert done["result"]["resumed_from"] == 3 * 1024 * 1024
    assert stack.mirror.ranges[-1] == f"bytes={3 * 1024 * 1024}-"
    (checkpoint,) = target.rglob("*.pt")
    assert checkpoint.read_bytes() == stack.checkpoint.read_bytes()
