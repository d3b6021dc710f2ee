"""Several workers: pool jobs are shared out among GPU-queue workers while clicks, on their
own queues, are answered; each click worker owns a share of the images, so a click reaches
the worker that prepared its image's embedding."""

import time

import redis

from tests.deploy.helpers import click, project_with_pool
from tests.deploy.stack import wait_until


def test_two_gpu_workers_run_two_pool_jobs_at_once_while_clicks_are_answered(stack):
    second = stack.worker_start("gpu", name="gpu-2")
    try:
        stack.workers_wait_ready()
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
        logs = [stack.log_tail(name, 500_000) for name in ("worker-gpu", "worker-gpu-2")]
        assert all("automask_pool_task" in log for log in logs), "one worker took both jobs"
    finally:
        stack.workers.pop("gpu-2")
        second.terminate()
        second.wait(30)


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
    assert all(a["embedding_cached"] for a in answers), [a["embedding_cached"] for a in answers]
    # Both click workers served some of them.
    for name in ("worker-interactive", "worker-interactive-1"):
        assert "prediction_task" in stack.log_tail(name, 500_000), name
