"""Several workers: pool jobs, and the images of one pool job, are shared out among GPU-queue
workers while clicks, on their own queues, are answered; each click worker owns a share of
the images, so a click reaches the worker that prepared its image's embedding."""

import re
import time

import pytest
import redis

from tests.deploy.helpers import click, project_with_pool
from tests.deploy.stack import wait_until


@pytest.fixture
def second_gpu_worker(stack):
    process = stack.worker_start("gpu", name="gpu-2")
    stack.workers_wait_ready()
    yield
    stack.workers.pop("gpu-2")
    process.terminate()
    process.wait(30)


def images_done_by(stack, worker: str, job_id: int) -> set[int]:
    """The images of the job that the worker's chunk tasks were given (from its log)."""
    chunks = re.findall(
        rf"automask job {job_id}: images \[([0-9, ]*)\]", stack.log_tail(worker, 10**7)
    )
    return {int(image_id) for chunk in chunks for image_id in chunk.split(",")}


def test_one_pool_job_is_shared_by_two_gpu_workers_with_one_run_per_image(stack, second_gpu_worker):
    api, project_id, image_ids = project_with_pool(stack, "One job, two workers")
    job = api.post(
        f"/api/projects/{project_id}/automask/", json={"params": {"points_per_side": 12}}
    ).json()

    def ended() -> dict | None:
        now = api.get(f"/api/jobs/{job['id']}/").json()
        return now if now["status"] in ("done", "failed", "cancelled") else None

    end = wait_until(ended, 180, "the pool job did not finish:\n" + stack.logs())
    assert end["status"] == "done", end
    assert end["done"] == end["total"] == len(image_ids)
    shares = {w: images_done_by(stack, w, job["id"]) for w in ("worker-gpu", "worker-gpu-2")}
    assert all(shares.values()), f"one worker did the whole job: {shares}"
    assert shares["worker-gpu"] | shares["worker-gpu-2"] == set(image_ids), shares
    runs = stack.postgres.query(
        "SELECT image_id, count(*) FROM projects_automaskrun WHERE job_id = %s "
        "GROUP BY image_id ORDER BY image_id",
        job["id"],
    )
    assert runs == [(image_id, 1) for image_id in image_ids]


def test_two_gpu_workers_run_two_pool_jobs_at_once_while_clicks_are_answered(
    stack, second_gpu_worker
):
    api, project_id, image_ids = project_with_pool(stack, "Two GPU workers")
    jobs = [
        api.post(
            f"/api/projects/{project_id}/automask/",
            json={"image_ids": half, "params": {"points_per_side": 12}},
        ).json()["id"]
        for half in (image_ids[:3], image_ids[3:])
    ]

    def statuses() -> list[str]:
        return [api.get(f"/api/jobs/{job}/").json()["status"] for job in jobs]

    def started() -> list[str] | None:
        now = statuses()
        return None if "queued" in now else now

    seen = wait_until(started, 60, "the jobs did not start")
    assert seen == ["running", "running"], seen
    with stack.websocket(project_id) as socket:
        answer = click(socket, image_ids[0], "during-pool", 60)
    assert answer["type"] == "prediction", answer
    assert "running" in statuses(), "the click was answered only after the pool jobs"
    wait_until(lambda: statuses() == ["done", "done"], 180, "the pool jobs did not finish")
    shares = {
        w: images_done_by(stack, w, jobs[0]) | images_done_by(stack, w, jobs[1])
        for w in ("worker-gpu", "worker-gpu-2")
    }
    assert all(shares.values()), f"one worker did both jobs: {shares}"
    assert shares["worker-gpu"] | shares["worker-gpu-2"] == set(image_ids), shares


def test_each_click_reaches_the_worker_that_prepared_its_images_embedding(stack):
    api, project_id, image_ids = project_with_pool(stack, "Routed clicks")
    for image_id in image_ids:
        assert api.post(f"/api/images/{image_id}/open/").status_code == 200
    queues = redis.Redis.from_url(stack.redis.url)
    wait_until(
        lambda: queues.llen("interactive") + queues.llen("interactive-1") == 0,
        60,
        "the embeddings were not prepared",
    )
    time.sleep(1)  # the last preparation in flight
    with stack.websocket(project_id) as socket:
        answers = [click(socket, image_id, f"routed-{image_id}", 60) for image_id in image_ids]
    assert [a["type"] for a in answers] == ["prediction"] * len(image_ids), answers
    cached = [a["data"]["embedding_cached"] for a in answers]
    assert all(cached), cached
    # Both click workers served some of them.
    for name in ("worker-interactive", "worker-interactive-1"):
        assert "prediction_task" in stack.log_tail(name, 500_000), name
