"""A scan queued by the API runs on a real Celery worker (the embedded one, in-process)."""

import time

from django.urls import reverse

from annotator.embedded_worker import start_embedded_worker, stop_embedded_worker
from projects.models import Image, Job


def test_a_folder_scan_is_run_by_the_worker_after_the_request(
    team, api_client, folder_root, transactional_db
):
    start_embedded_worker()
    try:
        response = api_client(team.owner).post(
            reverse("api:api-source-create-folder", kwargs={"project_id": team.project.pk}),
            {"path": str(folder_root)},
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["job"]["status"] == "queued"
        job = Job.objects.get(pk=response.json()["job"]["id"])
        deadline = time.monotonic() + 30
        while job.status != Job.Status.DONE and time.monotonic() < deadline:
            time.sleep(0.1)
            job.refresh_from_db()
        assert job.status == Job.Status.DONE, job.message
        assert Image.objects.filter(source_id=response.json()["source"]["id"]).count() == 3
    finally:
        stop_embedded_worker()
