"""Checkpoint downloads from a real HTTP server on 127.0.0.1: progress, resume with Range,
cancel, verification, and never a loadable half file."""

import hashlib
import shutil
import threading
import time

import pytest

from inference import download, registry
from inference.services import downloads
from projects.models import Job
from tests.inference.http_server import FileServer

KEY = "sam2.1_hiera_tiny"


@pytest.fixture
def server(micro_checkpoint, tmp_path, settings):
    """Serves the generated checkpoint where the official tiny checkpoint would be."""
    root = tmp_path / "mirror"
    (root / "092824").mkdir(parents=True)
    shutil.copy(micro_checkpoint, root / "092824" / "sam2.1_hiera_tiny.pt")
    running = FileServer(root.resolve())
    settings.ANNOTATOR_MODEL_BASE_URL = running.url
    yield running
    running.stop()


def _start(team) -> Job:
    return downloads.model_download_start(project=team.project, user=team.owner, key=KEY)


def test_download_streams_with_progress_and_lands_atomically(
    server, micro_checkpoint, team, monkeypatch
):
    published = []
    monkeypatch.setattr(
        "projects.jobs.publish", lambda group, kind, data: published.append((group, data))
    )
    job = _start(team)
    downloads.model_download_run(job_id=job.pk)
    job.refresh_from_db()
    spec = registry.spec_for(KEY)
    assert job.status == "done", job.message
    assert spec.path.read_bytes() == micro_checkpoint.read_bytes()
    assert not download.part_path(spec.path).exists()
    assert job.result["bytes"] == job.result["total_bytes"] == micro_checkpoint.stat().st_size
    assert job.result["percent"] == 100.0 and job.result["speed_bps"] > 0
    assert {group for group, _ in published} == {f"project.{team.project.pk}"}
    assert [data["status"] for _, data in published][-1] == "done"
    listed = {e["key"]: e for e in registry.get_available_model_keys()}
    assert listed[KEY]["present"] is True


def test_broken_download_leaves_no_checkpoint_and_resumes_with_range(
    server, micro_checkpoint, team
):
    spec = registry.spec_for(KEY)
    server.drop_after = 3 * 1024 * 1024
    job = _start(team)
    with pytest.raises(download.DownloadError):
        downloads.model_download_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "resume" in job.message
    assert not spec.path.exists()
    assert download.part_path(spec.path).stat().st_size == 3 * 1024 * 1024

    server.drop_after = None
    again = _start(team)
    downloads.model_download_run(job_id=again.pk)
    again.refresh_from_db()
    assert again.status == "done"
    assert server.ranges[-1] == f"bytes={3 * 1024 * 1024}-"
    assert again.result["resumed_from"] == 3 * 1024 * 1024
    assert spec.path.read_bytes() == micro_checkpoint.read_bytes()


@pytest.mark.django_db(transaction=True)
def test_cancelled_download_stops_and_leaves_no_checkpoint(server, team, api_client):
    spec = registry.spec_for(KEY)
    server.hold.clear()  # the server sends one chunk, then waits
    job = _start(team)
    worker = threading.Thread(target=downloads.model_download_run, kwargs={"job_id": job.pk})
    worker.start()
    for _ in range(500):
        if Job.objects.get(pk=job.pk).done > 0:
            break
        time.sleep(0.01)
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/model/download/cancel/", {"key": KEY}, format="json"
    )
    assert response.status_code == 200
    server.hold.set()
    worker.join(20)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not spec.path.exists()


def test_wrong_checksum_discards_the_file(server, tmp_path):
    target = tmp_path / "models" / "x.pt"
    url = f"{server.url}/092824/sam2.1_hiera_tiny.pt"
    with pytest.raises(download.DownloadError, match="SHA-256"):
        download.fetch(url, target, sha256="0" * 64)
    assert not target.exists() and not download.part_path(target).exists()


def test_right_checksum_is_accepted(server, micro_checkpoint, tmp_path):
    digest = hashlib.sha256(micro_checkpoint.read_bytes()).hexdigest()
    target = tmp_path / "models" / "x.pt"
    download.fetch(f"{server.url}/092824/sam2.1_hiera_tiny.pt", target, sha256=digest)
    assert target.read_bytes() == micro_checkpoint.read_bytes()


def test_a_file_that_is_not_a_checkpoint_is_discarded(server, tmp_path):
    (server.root / "092824" / "page.pt").write_bytes(b"<html>not found</html>")
    target = tmp_path / "models" / "page.pt"
    with pytest.raises(download.DownloadError, match="not a PyTorch checkpoint"):
        download.fetch(f"{server.url}/092824/page.pt", target)
    assert not target.exists() and not download.part_path(target).exists()


def test_missing_file_on_the_server_is_a_clear_failure(server, tmp_path):
    with pytest.raises(download.DownloadError, match="404"):
        download.fetch(f"{server.url}/nothing.pt", tmp_path / "n.pt")


def test_download_api_refuses_a_model_already_present(api_client, team):
    spec = registry.spec_for(KEY)
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    spec.path.write_bytes(b"PK")
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/model/download/", {"key": KEY}, format="json"
    )
    assert (
        response.status_code == 400 and "downloaded already" in response.json()["error"]["message"]
    )
