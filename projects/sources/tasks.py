"""Celery tasks of the sources: one-line wrappers that pass ids to the services."""

from celery import shared_task

from projects.sources import services


@shared_task(name="projects.sources.scan", acks_late=True)
def source_scan_task(job_id: int) -> None:
    services.source_scan_run(job_id=job_id)
