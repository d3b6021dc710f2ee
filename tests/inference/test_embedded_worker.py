"""The embedded mode: Celery workers inside the serving process run model loads and pool
jobs from the in-memory broker, while clicks keep being answered."""

import asyncio
import threading
import time

import pytest

from annotator import embedded_worker
from inference.services import automask, loading, predictions
from projects.models import AutomaskRun, Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    workers = embedded_worker.start_embedded_worker()
    consumed = [sorted(w.app.amqp.queues.consume_from) for w in workers]
    assert consumed == [["interactive"], ["default", "gpu"]]
    yield workers
    embedded_worker.stop_embedded_worker()


def _wait(job: Job, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job.pk} still {job.status}: {job.message}")


def test_embedded_worker_runs_loads_and_pool_jobs(worker, micro_choice, drawn_pool, team):
    images, drawings = drawn_pool
    load = loading.model_load_start(project=team.project, user=team.owner, choice=micro_choice)
    assert _wait(load).status == "done", load.message
    team.project.refresh_from_db()
    assert team.project.model_selection["status"] == "loaded"

    loading.model_load_start(project=team.project, user=team.owner, choice={"key": "classic"})
    pool = automask.automask_start(project=team.project, user=team.owner, params={})
    prompt = predictions.PromptInput.from_dict(
        {"point_coords": [list(drawings[0].centre)], "point_labels": [1]}
    )
    predictions.prediction_run(image=images[0], user=team.owner, prompt=prompt)
    assert _wait(pool).status == "done", pool.message
    assert AutomaskRun.objects.filter(job=pool).count() == 3


async def test_click_is_answered_while_a_pool_job_holds_the_batch_worker(
    worker, drawn_pool, team, monkeypatch
):
    from asgiref.sync import sync_to_async

    from tests.inference.test_consumers import _connect, _receive

    images, drawings = drawn_pool
    busy, release = threading.Event(), threading.Event()
    original = automask.automask_image_run

    def slow_image(**kwargs):
        busy.set()
        release.wait(30)  # a long automask image, as on a big photograph
        return original(**kwargs)

    monkeypatch.setattr(automask, "automask_image_run", slow_image)
    pool = await sync_to_async(automask.automask_start)(
        project=team.project, user=team.owner, params={}
    )
    assert await asyncio.to_thread(busy.wait, 20)
    communicator = await _connect(team.annotator, team.project.pk)
    await communicator.send_json_to(
        {
            "type": "predict",
            "data": {
                "request_id": "during-pool",
                "image_id": images[0].pk,
                "point_coords": [list(drawings[0].centre)],
                "point_labels": [1],
            },
        }
    )
    reply = await _receive(communicator, "prediction")
    await pool.arefresh_from_db()
    assert reply["type"] == "prediction" and pool.status == "running" and pool.done == 0
    release.set()
    await communicator.disconnect()
    assert (await asyncio.to_thread(_wait, pool)).status == "done"
