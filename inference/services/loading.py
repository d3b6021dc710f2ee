"""Loading a model for a project: the choice passes the model door (inference.refs), a job on a
click worker loads it, and the project's model state says how it went."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inference import engine, queues, refs, selectors
from inference.refs import ModelRef
from inference.services import embeddings
from projects.events import project_group, publish
from projects.jobs import JobProgress, job_cancel, job_enqueue, run_job, task_send
from projects.models import Job, Project


def model_ref_from_choice(choice: dict[str, Any]) -> ModelRef:
    """Validate a client's model choice: a listed model, a manual checkpoint, or classic."""
    return refs.model_ref_parse(choice, require_present=True)


def _state_update(project_id: int, **changes) -> dict[str, Any]:
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project_id)
        state = {**project.model_selection, **changes}
        project.model_selection = state
        project.save(update_fields=["model_selection", "updated_at"])
        transaction.on_commit(lambda: publish(project_group(project_id), "model.state", state))
    return state


def model_load_start(*, project: Project, user, choice: dict[str, Any]) -> Job:
    """Ask the worker to load a model for the project; the state says how it went."""
    ref = model_ref_from_choice(choice)
    with transaction.atomic():
        for job in Job.objects.filter(
            project=project, kind=Job.Kind.MODEL_LOAD, status__in=Job.ACTIVE
        ):
            job.request_cancel()
        job = Job.objects.create(
            project=project,
            kind=Job.Kind.MODEL_LOAD,
            params={"model": ref.as_dict()},
            created_by=user,
            message=f"Loading {ref.key}",
        )
        _state_update(
            project.pk,
            requested=ref.as_dict(),
            status="loading",
            message=f"Loading {ref.key}…",
            job_id=job.pk,
        )
        job_enqueue(job)
        if settings.ANNOTATOR_INTERACTIVE_WORKERS > 1 and not ref.is_classic:
            transaction.on_commit(lambda: _model_warm_everywhere(ref))
    return job


def _model_warm_everywhere(ref: ModelRef) -> None:
    """Load the model on the other click workers too (the load job runs on the first), so
    their first click and embedding preparation find it in memory."""
    for queue in queues.interactive_queues()[1:]:
        task_send("inference.tasks.model_warm_task", ref.as_dict(), queue=queue)


def model_load_run(*, job_id: int) -> None:
    def work(progress: JobProgress) -> str:
        ref = ModelRef.from_dict(progress.job.params["model"])
        progress.start(total=1, message=f"Loading {ref.key}")
        if ref.params.resolved_device() == "cuda" and not engine.torch.cuda.is_available():
            raise RuntimeError("This worker has no CUDA device; choose device cpu or auto.")
        started = time.perf_counter()
        try:
            model = engine.get_engine(ref, should_stop=progress.cancelled)
        except engine.ModelLoadCancelled:
            progress.check()
            raise
        except Exception as error:
            raise RuntimeError(f"Could not load {ref.key}: {_short(error)}") from error
        progress.check()
        seconds = time.perf_counter() - started
        device = getattr(model, "device", "cpu")
        message = f"Loaded {ref.key} on {device} in {seconds:.2f} s."
        _state_update(
            progress.job.project_pk,
            active=ref.as_dict(),
            status="loaded",
            message=message,
            loaded_at=timezone.now().isoformat(),
            job_id=progress.job.pk,
        )
        progress.step(done=1, message=message, force=True)
        return message

    try:
        run_job(job_id, work)
    finally:
        _load_end_state(job_id)
    job = Job.objects.filter(pk=job_id, status=Job.Status.DONE).first()
    if job is not None:  # a project that asked for it prepares its pool for the new model
        embeddings.embeddings_auto_start(project_id=job.project_pk)


def _short(error: Exception) -> str:
    """An error's message, bounded: the first line of a library's text, not its paragraph."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def _load_end_state(job_id: int) -> None:
    """Reflect a failed or cancelled load in the project state; the previous model stays."""
    job = Job.objects.get(pk=job_id)
    if job.status in (Job.Status.FAILED, Job.Status.CANCELLED):
        state = job.owning_project.model_selection
        if state.get("job_id") == job.pk:
            _state_update(job.project_pk, status=job.status, message=job.message)


def model_load_cancel(*, project: Project) -> Job | None:
    job = selectors.active_job(project, Job.Kind.MODEL_LOAD)
    if job is not None:
        job_cancel(job=job)
        _load_end_state(job.pk)
    return job
