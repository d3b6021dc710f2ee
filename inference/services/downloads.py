"""Downloading an official checkpoint into the model folder, as a job with live progress."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from inference import download, registry
from projects.jobs import JobProgress, job_cancel, job_enqueue, run_job
from projects.models import Job, Project


def model_download_start(*, project: Project, user, key: str) -> Job:
    spec = registry.spec_for(key)
    if spec.is_present():
        raise ValidationError({"key": f"{spec.label} is downloaded already."})
    with transaction.atomic():
        running = Job.objects.filter(
            kind=Job.Kind.MODEL_DOWNLOAD, status__in=Job.ACTIVE, params__key=spec.key
        ).first()
        if running is not None:
            return running
        job = Job.objects.create(
            project=project,
            kind=Job.Kind.MODEL_DOWNLOAD,
            params={"key": spec.key},
            created_by=user,
            message=f"Queued download of {spec.label}",
        )
        job_enqueue(job)
    return job


def model_download_run(*, job_id: int) -> None:
    def work(progress: JobProgress) -> str:
        spec = registry.spec_for(progress.job.params["key"])
        progress.start(total=0, message=f"Downloading {spec.label}")

        last: list[download.DownloadProgress] = []

        def report(state: download.DownloadProgress, force: bool = False) -> None:
            last[:] = [state]
            total_kib = (state.total or 0) // 1024
            if progress.job.total != total_kib:
                progress.job.total = total_kib
                Job.objects.filter(pk=progress.job.pk).update(total=total_kib)
            percent = f"{state.percent:.1f}%" if state.percent is not None else "?"
            progress.step(
                done=state.received // 1024,
                message=f"Downloading {spec.label}: {percent}",
                result=state.as_dict(),
                every=0.25,
                force=force,
            )

        def report_last() -> None:
            """The final count, then a last chance to cancel before the file is renamed."""
            if last:
                report(last[0], force=True)
            else:
                progress.check()

        download.fetch(
            spec.url,
            spec.path,
            sha256=spec.sha256,
            timeout=settings.ANNOTATOR_DOWNLOAD_TIMEOUT_S,
            on_progress=report,
            before_rename=report_last,
        )
        return f"Downloaded {spec.label} ({spec.path.stat().st_size} bytes)."

    run_job(job_id, work)


def model_download_cancel(*, project: Project, key: str = "") -> Job | None:
    jobs = Job.objects.filter(project=project, kind=Job.Kind.MODEL_DOWNLOAD, status__in=Job.ACTIVE)
    if key:
        jobs = jobs.filter(params__key=registry.resolve_key(key))
    job = jobs.order_by("-created_at").first()
    if job is not None:
        job_cancel(job=job)
    return job
