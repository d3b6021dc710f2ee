"""A pool export through the embedded Celery worker, as the default install runs it."""

import time

import pytest
from django.db import connections
from django.urls import reverse

from annotator.embedded_worker import start_embedded_worker, stop_embedded_worker
from projects.models import Job


@pytest.fixture
def embedded_worker(transactional_db):
    start_embedded_worker()
    yield
    stop_embedded_worker()
    connections.close_all()


def wait_for(job_id: int, seconds: float = 30) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if not job.is_active:
            return job
        time.sleep(0.1)
    raise AssertionError(f"export job {job_id} still {job.status} after {seconds}s")


@pytest.mark.slow
def test_a_pool_export_is_run_by_the_worker(embedded_worker, annotated, team, api_client):
    client = api_client(team.owner)
    response = client.post(
        reverse("api:export-start", kwargs={"project_id": annotated.project.pk}),
        {"format": "coco", "records": ["objects", "automask"]},
        format="json",
    )
    assert response.status_code == 202
    job = wait_for(response.json()["job"]["id"])
    assert job.status == Job.Status.DONE, job.message
    assert job.result["masks"] == 8
    download = client.get(reverse("api:export-download", kwargs={"job_id": job.pk}))
    assert download.status_code == 200
