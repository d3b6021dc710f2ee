"""Automatic mask generation: one image's run and its records, and the pool job shared out
among every worker on the `gpu` queue."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from inference import engine, selectors
from inference.refs import ModelRef
from inference.services.predictions import Pixels, model_info
from projects import encoding
from projects.events import project_group, publish
from projects.jobs import FAILED, WORKING, SharedJob, job_enqueue, task_send
from projects.models import AutomaskMask, AutomaskRun, Image, Job, Project

logger = logging.getLogger(__name__)


def automask_records(
    *, image: Image, user, ref: ModelRef, params: dict, masks: list[dict], job: Job | None
) -> AutomaskRun:
    """Save one image's automask run with all its masks, once per (job, image). An image
    deleted while the model ran is a ValidationError: a pool job skips it with the reason."""
    try:
        with transaction.atomic():
            # The image's row lock: a delete waits for this run, or this run sees it gone.
            if not Image.objects.select_for_update().filter(pk=image.pk).exists():
                raise _image_deleted()
            run = AutomaskRun.objects.create(
                image=image,
                job=job,
                created_by=user if getattr(user, "pk", None) else None,
                model=model_info(ref),
                params=params,
            )
            AutomaskMask.objects.bulk_create(
                AutomaskMask(
                    run=run,
                    segmentation=encoding.mask_to_rle(np.asarray(mask["segmentation"])),
                    area=int(mask["area"]),
                    bbox=[float(v) for v in mask["bbox"]],
                    predicted_iou=float(mask["predicted_iou"]),
                    stability_score=float(mask["stability_score"]),
                    point_coords=np.asarray(mask["point_coords"]).tolist(),
                    crop_box=[float(v) for v in mask["crop_box"]],
                )
                for mask in masks
            )
            if not image.has_automask:
                image.refresh_status()
                image.save(update_fields=["has_automask", "status"])
    except IntegrityError:
        # A resumed job reached an image another delivery of it finished: keep that one.
        done = AutomaskRun.objects.filter(job=job, image=image).first()
        if done is None:
            raise _image_deleted() from None
        return done
    return run


def _image_deleted() -> ValidationError:
    return ValidationError({"image": "The image was deleted while automask ran on it."})


def automask_image_run(
    *, image: Image, user, params: dict[str, Any], job: Job | None = None
) -> AutomaskRun:
    if job is not None:
        done = AutomaskRun.objects.filter(job=job, image=image).first()
        if done is not None:
            return done
    ref = selectors.project_model_ref(image.project)
    model = engine.get_engine(ref)
    masks = model.automask(Pixels(image)(), params)
    return automask_records(image=image, user=user, ref=ref, params=params, masks=masks, job=job)


def automask_start(
    *, project: Project, user, params: dict[str, Any], image_ids: list[int] | None = None
) -> Job:
    """Start automask over the pool (or the given images of it) as a resumable job."""
    if image_ids:
        found = set(
            Image.objects.filter(
                project=project, pk__in=image_ids, removed_at__isnull=True
            ).values_list("pk", flat=True)
        )
        missing = sorted(set(image_ids) - found)
        if missing:
            raise ValidationError({"image_ids": f"Not images of this project: {missing}."})
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            kind=Job.Kind.AUTOMASK_POOL,
            params={"automask": params, "image_ids": sorted(image_ids or [])},
            created_by=user,
            message="Queued",
            # Shared among tasks from the start: a cancel before any runs ends it at once.
            result={WORKING: {}},
        )
        job.total = selectors.automask_job_images(job).count()
        job.save(update_fields=["total"])
        job_enqueue(job)
    return job


def automask_resume(*, job: Job) -> Job:
    """Continue a stopped pool job; images it finished are skipped."""
    if job.kind != Job.Kind.AUTOMASK_POOL:
        raise ValidationError({"job": "Only automask jobs can be resumed."})
    if job.status == Job.Status.DONE:
        raise ValidationError({"job": "This job has finished every image."})
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.QUEUED, finished_at=None, message="Resuming"
        )
        job_enqueue(job)
    job.refresh_from_db()
    return job


class AutomaskProgress(SharedJob):
    """A pool automask job's progress: an image is done when it has its run."""

    def count_done(self, job: Job) -> int:
        return AutomaskRun.objects.filter(job=job).count()

    def running_message(self, job: Job) -> str:
        return f"Automask {job.done}/{job.total}"

    def done_message(self, job: Job) -> str:
        failed = len(job.result.get(FAILED) or [])
        if failed:
            return f"Done; {failed} image(s) could not be read."
        return f"Automask done on {job.total} image(s)."


def automask_pool_run(*, job_id: int) -> None:
    """Coordinate a pool job: mark it running and queue its unfinished images in chunks, which
    every worker on the `gpu` queue takes its share of (see automask_chunk_run)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not job.is_active:
        return  # a redelivered task of a finished job
    progress = AutomaskProgress(job_id)
    try:
        images = list(selectors.automask_job_images(job).values_list("pk", flat=True))
        finished = set(job.automask_runs.values_list("image_id", flat=True))
        todo = [pk for pk in images if pk not in finished]
        if not progress.start(total=len(images), message="Automask running"):
            return
        size = settings.ANNOTATOR_AUTOMASK_CHUNK
        for index in range(0, len(todo), size):
            task_send("inference.tasks.automask_chunk_task", job_id, todo[index : index + size])
    except Exception as error:  # the reason goes to the person who started the job
        progress.fail("", error)
        raise


def automask_chunk_run(*, job_id: int, image_ids: list[int], worker: str = "") -> None:
    """Automask a few images of a pool job, one at a time, stopping when the job no longer
    runs. Safe to run twice: an image with its run is not done again."""
    logger.info("automask job %s: images %s on %s", job_id, image_ids, worker)
    progress = AutomaskProgress(job_id, worker=worker)
    for image_id in image_ids:
        item = str(image_id)
        if not progress.claim(item):
            return
        image = Image.objects.select_related("project", "source").filter(pk=image_id).first()
        if image is None:
            progress.release(item, label=f"image {image_id}", reason="deleted")
            continue
        try:
            reason = _automask_job_image(job_id=job_id, image=image)
        except Exception as error:
            progress.fail(item, error)
            raise
        progress.release(item, label=image.path, reason=reason)


def _automask_job_image(*, job_id: int, image: Image) -> str | None:
    """Run automask on one image of a pool job and announce it; why it could not, if so."""
    if AutomaskRun.objects.filter(job_id=job_id, image=image).exists():
        return None  # an earlier delivery of this chunk did it
    job = Job.objects.select_related("created_by").get(pk=job_id)
    try:
        run = automask_image_run(
            image=image, user=job.created_by, params=job.params["automask"], job=job
        )
    except ValidationError as error:
        return " ".join(error.messages)
    publish(
        project_group(job.project_pk),
        "automask.image",
        {"job": job.pk, "image": image.pk, "run": run.pk, "masks": run.masks.count()},
    )
    return None


def automask_jobs_resume_interrupted() -> list[int]:
    """Queue again the pool jobs a stopped worker left running (the embedded worker's
    queue lives in memory, so a restart loses its queued tasks), and end those it was
    cancelling: nothing works on them any more."""
    jobs = Job.objects.filter(kind=Job.Kind.AUTOMASK_POOL)
    for job_id in jobs.filter(status=Job.Status.CANCELLING).values_list("pk", flat=True):
        AutomaskProgress(job_id).abandon()
    ids = list(
        jobs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).values_list("pk", flat=True)
    )
    for job_id in ids:
        task_send("inference.tasks.automask_pool_task", job_id)
    return ids
