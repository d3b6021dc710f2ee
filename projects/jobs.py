"""Progress and cancellation for long jobs, shared by every task that runs a Job.

A task reports progress through job_progress (stored on the row and published to the
project's group) and calls job_check_cancel between units of work; a cancel requested through
Job.request_cancel then stops it at the next check.
"""

from django.utils import timezone

from projects.events import project_group, publish, user_group
from projects.models import Job


class JobCancelled(Exception):
    """The job was asked to stop; the task ends it as cancelled."""


def _publish(job: Job) -> None:
    data = {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "message": job.message,
        "result": job.result,
    }
    if job.project_id is not None:
        publish(project_group(job.project_id), "job", data)
    elif job.created_by_id is not None:
        publish(user_group(job.created_by_id), "job", data)


def job_start(job: Job, *, total: int, message: str = "") -> None:
    job.status = Job.Status.RUNNING
    job.started_at = timezone.now()
    job.total = total
    job.done = 0
    job.message = message
    # A cancel that arrived while the job was queued must survive the start.
    updated = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=job.status, started_at=job.started_at, total=total, done=0, message=message
    )
    if not updated:
        job.refresh_from_db()
        job_check_cancel(job)
    _publish(job)


def job_progress(job: Job, done: int, total: int, message: str = "") -> None:
    job.done, job.total, job.message = done, total, message
    Job.objects.filter(pk=job.pk).update(
        done=done, total=total, message=message, updated_at=timezone.now()
    )
    _publish(job)


def job_check_cancel(job: Job) -> None:
    status = Job.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    if status in (Job.Status.CANCELLING, Job.Status.CANCELLED):
        raise JobCancelled(f"Job {job.pk} was cancelled.")


def job_finish(job: Job, *, status: str, message: str = "", result: dict | None = None) -> None:
    job.status = status
    job.message = message
    job.finished_at = timezone.now()
    if result is not None:
        job.result = result
    job.save(update_fields=["status", "message", "finished_at", "result", "done", "updated_at"])
    _publish(job)
