import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.exports.archive import archive_write
from projects.models import Job
from tests.access import Route

P = lambda s: {"project_id": s.team.project.pk}  # noqa: E731


def export_job(scene) -> Job:
    """A finished export of the scene's project, with its file on disk."""
    if "export_job" not in scene.extra:
        job = Job.objects.create(
            project=scene.team.project, kind=Job.Kind.EXPORT, status=Job.Status.DONE
        )
        relative = f"exports/{scene.team.project.pk}/{job.pk}.json"
        target = Path(settings.MEDIA_ROOT) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("{}")
        job.result = {
            "file": relative,
            "filename": "cells.json",
            "content_type": "application/json",
        }
        job.save()
        scene.extra["export_job"] = job
    return scene.extra["export_job"]


def archive_upload(scene, **fields) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.zip"
        archive_write(project=scene.team.project, target=path)
        data = path.read_bytes()
    return {"file": SimpleUploadedFile("cells.zip", data, "application/zip"), **fields}


def restore_upload(scene) -> dict:
    # A restore waits for running jobs; the scene's pool job is finished for this route.
    Job.objects.filter(project=scene.team.project).update(status=Job.Status.DONE)
    return archive_upload(scene)


ROUTES = [
    Route("api:export-start", "post", "view", kwargs=P, data=lambda s: {"scope": "pool"}),
    Route("api:export-job", "get", "view", kwargs=lambda s: {"job_id": export_job(s).pk}),
    Route("api:export-download", "get", "view", kwargs=lambda s: {"job_id": export_job(s).pk}),
    Route("api:project-archive", "get", "own", kwargs=P),
    Route(
        "api:export-start",
        "post",
        "own",
        kwargs=P,
        data=lambda s: {"scope": "pool", "format": "archive"},
    ),
    Route(
        "api:project-archive",
        "post",
        "own",
        kwargs=P,
        data=restore_upload,
        data_format="multipart",
    ),
    Route(
        "api:archive-upload",
        "post",
        "login",
        data=lambda s: archive_upload(s, name="Cells again"),
        data_format="multipart",
    ),
]
