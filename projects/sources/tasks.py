"""The source scan job: lists a source and records the result, with progress and cancel."""

import logging

from celery import shared_task

from projects.jobs import JobCancelled, JobFailed, JobProgress, run_job
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

    def work(progress: JobProgress) -> str:
        source = Source.objects.get(pk=progress.job.params["source_id"])
        progress.start(message=f"Listing {source.name}")
        try:
            result = scan_apply(
                source, source_listing(source), progress=lambda n: _report(progress, n)
            )
        except SourceUnavailable as error:
            source.mark_unavailable(str(error))
            progress.job.result = {"source_id": source.pk}
            raise JobFailed(str(error)) from None
        progress.job.done = progress.job.total = result.listed
        if progress.cancelled():
            raise JobCancelled("Cancelled; images found so far were added.")
        source.mark_available()
        progress.job.result = {"source_id": source.pk, **result.as_json()}
        return (
            f"{result.listed} listed: {result.added} new, {result.vanished} gone, "
            f"{result.returned} back, {result.changed} changed, {result.unreadable} unreadable."
        )

    run_job(job_id, work)
    return Job.objects.get(pk=job_id)


def _report(progress: JobProgress, done: int) -> bool:
    """Progress of the listing; False asks the scan to stop, keeping what it added."""
    try:
        progress.step(done=done, message=f"{done} listed", every=0.25)
    except JobCancelled:
        return False
    return True
