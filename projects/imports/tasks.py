"""Celery tasks for imports, on the default queue (no model is needed)."""

from celery import shared_task

from projects.imports.services import import_run


@shared_task(name="projects.imports.tasks.import_run_task", acks_late=True)
def import_run_task(job_id: int) -> None:
    import_run(job_id=job_id)
