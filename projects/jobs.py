"""Progress, cancel and outcome of every long job: downloads, loads, pool automask,
exports, source scans.

A task hands its work to `run_job`, which gives it a `JobProgress`: the work marks the job
running, reports done/total with a message (stored, and published as `job.progress` to the
project's group at most a few times a second), and is stopped by JobCancelled at the next
check after someone asked to cancel. `run_job` records how the job ended: done, cancelled,
or failed with a reason a person can read.
"""

import time
from typing import Any

from django.utils import timezone

from projects.events import project_group, publish, user_group
from projects.models import Job

PUBLISH_EVERY_S = 0.25


class JobCancelled(Exception):
    """Someone asked the job to stop; the message, if any, says what was kept."""


class JobFailed(Exception):
    """An expected failure (a source gone, a file refused): the job fails with this message,
    and the task ends normally."""


def job_event(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "project": job.project_id,
        "kind": job.kind,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "eta_seconds": job.eta_seconds(),
        "message": job.message,
        "result": job.result,
    }


def publish_job(job: Job) -> None:
    group = project_group(job.project_id) if job.project_id else user_group(job.created_by_id)
    publish(group, "job.progress", job_event(job))


class JobProgress:
    def __init__(self, job_id: int) -> None:
        self.job = Job.objects.get(pk=job_id)
        self._published_at = 0.0
        self._stepped_at = 0.0

    def cancelled(self) -> bool:
        status = Job.objects.filter(pk=self.job.pk).values_list("status", flat=True).first()
        return status in (Job.Status.CANCELLING, Job.Status.CANCELLED, None)

    def check(self) -> None:
        if self.cancelled():
            raise JobCancelled()

    def start(self, *, total: int = 0, message: str = "") -> None:
        self.check()
        job = self.job
        job.status, job.total, job.message = Job.Status.RUNNING, total, message
        job.started_at = job.started_at or timezone.now()
        # A resumed job keeps its start time and count of what was already done.
        Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
            status=job.status, total=total, message=message, started_at=job.started_at
        )
        self._publish(force=True)

    def step(
        self,
        *,
        done: int,
        message: str | None = None,
        result: dict | None = None,
        force: bool = False,
        every: float = 0.0,
    ) -> None:
        """Record progress, publish it (throttled), then stop if a cancel was asked.

        With `every`, calls closer together than that many seconds are dropped (a download
        reports each chunk; the database hears of it a few times a second)."""
        now = time.monotonic()
        if every and not force and now - self._stepped_at < every:
            return
        self._stepped_at = now
        job = self.job
        job.done = done
        fields: dict[str, Any] = {"done": done, "updated_at": timezone.now()}
        if message is not None:
            job.message = fields["message"] = message
        if result is not None:
            job.result = fields["result"] = {**job.result, **result}
        Job.objects.filter(pk=job.pk).update(**fields)
        self._publish(force=force)
        self.check()

    def finish(self, status: str, message: str, result: dict | None = None) -> None:
        job = self.job
        job.status, job.message, job.finished_at = status, message, timezone.now()
        if result is not None:
            job.result = {**job.result, **result}
        job.save(
            update_fields=[
                "status",
                "message",
                "finished_at",
                "result",
                "done",
                "total",
                "updated_at",
            ]
        )
        self._publish(force=True)

    def _publish(self, *, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._published_at >= PUBLISH_EVERY_S:
            self._published_at = now
            publish_job(self.job)


def run_job(job_id: int, work) -> None:
    """Run `work(progress)` and record its end: done, cancelled or failed with the reason."""
    progress = JobProgress(job_id)
    if progress.job.status in (Job.Status.DONE, Job.Status.CANCELLED, Job.Status.FAILED):
        return  # a redelivered task of a finished job
    try:
        message = work(progress) or "Done."
    except JobCancelled as cancelled:
        progress.finish(Job.Status.CANCELLED, str(cancelled) or "Cancelled.")
    except JobFailed as failure:
        progress.finish(Job.Status.FAILED, str(failure))
    except Exception as error:  # the reason goes to the person who started the job
        progress.finish(Job.Status.FAILED, f"{error}")
        raise
    else:
        progress.finish(Job.Status.DONE, message)
