"""Celery tasks for exports, on the default queue (no model is needed)."""

from celery import shared_task

from projects.exports.services import export_run


@shared_task(name="projects.exports.tasks.export_run_task", acks_late=True)
def export_run_task(job_id: int) -> None:
    export_run(job_id=job_id)
