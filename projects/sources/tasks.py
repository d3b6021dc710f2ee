"""The source scan job: lists a source and records the result, with progress and cancel."""

import logging

from celery import shared_task
from django.utils import timezone

from projects.events import project_group, publish
from projects.models import Job, Source
from projects.sources.listing import SourceUnavailable
from projects.sources.scan import scan_apply, source_listing

logger = logging.getLogger(__name__)


@shared_task(name="projects.sources.scan", acks_late=True)
def source_scan_task(job_id: int) -> None:
    source_scan_run(job_id=job_id)


def source_scan_run(*, job_id: int) -> Job:
    """Run one scan job. Re-running a finished job does nothing; a retried one adds no
    duplicate images (rows are unique per path)."""
    job = Job.objects.select_related("project").get(pk=job_id)
    if job.status == Job.Status.CANCELLING:
        _finish(job, Job.Status.CANCELLED, "Cancelled before it started.", {})
        return job
    if job.status not in {Job.Status.QUEUED, Job.Status.RUNNING}:
        return job
    source = Source.objects.get(pk=job.params["source_id"])
    _set(job, status=Job.Status.RUNNING, started_at=timezone.now())
    try:
        result = scan_apply(source, source_listing(source), progress=lambda n: _progress(job, n))
    except SourceUnavailable as error:
        source.mark_unavailable(str(error))
        _finish(job, Job.Status.FAILED, str(error), {"source_id": source.pk})
        return job
    except Exception as error:
        logger.exception("scan of source %s failed", source.pk)
        _finish(job, Job.Status.FAILED, f"The scan failed: {error}", {"source_id": source.pk})
        raise
    job.refresh_from_db(fields=["status"])
    if job.status == Job.Status.CANCELLING:
        _finish(job, Job.Status.CANCELLED, "Cancelled; images found so far were added.", {})
        return job
    source.mark_available()
    summary = result.as_json()
    message = (
        f"{result.listed} listed: {result.added} new, {result.vanished} gone, "
        f"{result.returned} back, {result.changed} changed, {result.unreadable} unreadable."
    )
    _finish(job, Job.Status.DONE, message, {"source_id": source.pk, **summary})
    return job


def _progress(job: Job, done: int) -> bool:
    status = Job.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    _set(job, done=done)
    publish(
        project_group(job.project_id),
        "job.progress",
        {"job_id": job.pk, "kind": job.kind, "done": done, "total": job.total},
    )
    return status != Job.Status.CANCELLING


def _set(job: Job, **fields) -> None:
    for name, value in fields.items():
        setattr(job, name, value)
    Job.objects.filter(pk=job.pk).update(**fields, updated_at=timezone.now())


def _finish(job: Job, status: str, message: str, result: dict) -> None:
    done = result.get("listed", job.done)
    _set(
        job,
        status=status,
        message=message,
        result=result,
        done=done,
        total=done,
        finished_at=timezone.now(),
    )
    publish(
        project_group(job.project_id),
        "job.finished",
        {"job_id": job.pk, "kind": job.kind, "status": status, "message": message, **result},
    )
