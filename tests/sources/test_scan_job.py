"""The scan job: progress, cancel, and re-runs that change nothing."""

from django.urls import reverse

from projects.models import Image, Job, Source
from projects.sources.scan import BATCH, scan_apply, source_listing
from projects.sources.services import source_scan_run


def _folder_source(client, project, path):
    url = reverse("api:api-source-create-folder", kwargs={"project_id": project.pk})
    return client.post(url, {"path": str(path)}, format="json").json()


def test_a_finished_scan_run_again_adds_nothing(team, api_client, folder_root, eager_tasks):
    body = _folder_source(api_client(team.owner), team.project, folder_root)
    job = source_scan_run(job_id=body["job"]["id"])
    assert job.status == Job.Status.DONE
    assert Image.objects.filter(source_id=body["source"]["id"]).count() == 3


def test_a_scan_cancelled_before_it_starts_ends_cancelled(team, folder_root, api_client):
    # No eager tasks: the job stays queued, as behind a busy worker.
    body = _folder_source(api_client(team.owner), team.project, folder_root)
    job = Job.objects.get(pk=body["job"]["id"])
    assert job.request_cancel()
    assert source_scan_run(job_id=job.pk).status == Job.Status.CANCELLED
    assert not Image.objects.filter(source_id=body["source"]["id"]).exists()


def test_a_long_scan_reports_progress_per_batch_and_stops_when_told(team, tmp_path, settings):
    root = tmp_path / "many"
    root.mkdir()
    settings.ANNOTATOR_FOLDER_ROOTS = [root]
    for n in range(BATCH * 2 + 10):
        (root / f"{n:05d}.png").touch()
    source = Source.objects.create(
        project=team.project,
        kind=Source.Kind.FOLDER,
        name="many",
        location={"path": str(root), "recursive": True, "extensions": [".png"]},
    )
    seen = []

    def progress(done: int) -> bool:
        seen.append(done)
        return len(seen) < 2  # a cancel arrives after the second report

    result = scan_apply(source, source_listing(source), progress=progress)
    assert seen == [BATCH, BATCH * 2]
    # What was found before the cancel is kept; nothing was flagged as vanished.
    assert result.added == BATCH * 2 and result.vanished == 0
    assert source.images.count() == BATCH * 2


def test_asking_again_while_a_scan_is_queued_returns_that_scan(team, folder_root, api_client):
    client = api_client(team.owner)
    body = _folder_source(client, team.project, folder_root)
    url = reverse("api:api-source-scan", kwargs={"source_id": body["source"]["id"]})
    assert client.post(url).json()["id"] == body["job"]["id"]
    assert Job.objects.filter(kind=Job.Kind.SOURCE_SCAN).count() == 1
