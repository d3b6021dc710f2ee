"""Several GPU-queue workers: pool jobs are shared out among them, and clicks, on their own
queue, are answered while both are busy."""

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
