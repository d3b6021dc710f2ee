"""The pool's embeddings prepared ahead of the first click: a `prepare_embeddings` job on the
`gpu` queue writes each image's SAM2 features to the shared store (inference.embeddings), so
a click on any image of the pool, on any click worker, after any restart, finds them.

The job covers the pool or a filter of it (statuses, a source, given images), unprocessed
images first, then in navigation order. It skips images already in the store (a clicked or
prefetched image is never computed again), reports progress and an estimate, stops at a
cancel, and a resume goes on where it stopped. With the project's `embeddings_auto` setting
it starts on its own when a model is loaded or images are added.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from inference import engine, selectors
from inference.embeddings import embedding_store
from inference.refs import ModelRef
from inference.services.predictions import Pixels, image_unavailable
from projects.jobs import (
    JOB_TASKS,
    PACE,
    JobCancelled,
    JobFailed,
    JobProgress,
    job_cancel,
    job_enqueue,
    pace_start,
    pace_step,
    run_job,
    task_send,
)
from projects.models import Image, ImageStatus, Job, Project, Source
from projects.sources import reader

logger = logging.getLogger(__name__)

KIND = Job.Kind.PREPARE_EMBEDDINGS
FILTER_KEYS = ("status", "source", "image_ids")
AUTO_SETTING = "embeddings_auto"


def embeddings_auto(project: Project) -> bool:
    """Whether the project prepares its pool's embeddings on its own."""
    return (project.ui_settings or {}).get(AUTO_SETTING) is True


def filter_check(project: Project, image_filter: dict[str, Any]) -> dict[str, Any]:
    """The filter as the job stores it; a ValidationError naming what is wrong."""
    unknown = sorted(str(key)[:50] for key in set(image_filter) - set(FILTER_KEYS))
    if unknown:
        raise ValidationError({"filter": f"Unknown filter keys: {', '.join(unknown)}."})
    checked: dict[str, Any] = {}
    if image_filter.get("status"):
        checked["status"] = sorted(set(image_filter["status"]))
    if image_filter.get("source") is not None:
        source = image_filter["source"]
        if not Source.objects.filter(pk=source, project=project, removed_at__isnull=True).exists():
            raise ValidationError({"filter.source": "Not a source of this project."})
        checked["source"] = source
    if image_filter.get("image_ids"):
        ids = sorted(set(image_filter["image_ids"]))
        found = set(
            Image.objects.filter(project=project, pk__in=ids, removed_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise ValidationError({"filter.image_ids": f"Not images of this project: {missing}."})
        checked["image_ids"] = ids
    return checked


def job_images(job: Job) -> QuerySet[Image]:
    """The images a job covers: readable ones of the pool (their source not removed) that
    match its filter, unprocessed first, then in navigation order."""
    image_filter = job.params.get("filter") or {}
    images = Image.objects.filter(
        project_id=job.project_pk,
        available=True,
        removed_at__isnull=True,
        source__removed_at__isnull=True,
    )
    if image_filter.get("status"):
        images = images.filter(status__in=image_filter["status"])
    if image_filter.get("source") is not None:
        images = images.filter(source_id=image_filter["source"])
    if image_filter.get("image_ids"):
        images = images.filter(pk__in=image_filter["image_ids"])
    first = Case(
        When(status=ImageStatus.UNPROCESSED, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return images.annotate(_first=first).order_by("_first", "id")


def _sam2_ref(project: Project) -> ModelRef:
    ref = selectors.project_model_ref(project)
    if ref.is_classic:
        raise ValidationError(
            {"model": "The classic backend has no embeddings to prepare: load a SAM2 model."}
        )
    return ref


def embeddings_start(
    *, project: Project, user, image_filter: dict[str, Any] | None = None, auto: bool = False
) -> Job:
    """Start preparing the embeddings of the pool (or a filter of it) on the project's
    model. A preparation under way for that model and filter (any filter, for the automatic
    one) is returned, not doubled; one for another model is cancelled: its features would
    serve no click."""
    ref = _sam2_ref(project)
    checked = filter_check(project, image_filter or {})
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        for active in project.jobs.filter(kind=KIND, status__in=Job.ACTIVE):
            if active.params.get("model_key") != ref.cache_key:
                job_cancel(job=active)
            elif auto or active.params.get("filter") == checked:
                return active
        job = Job.objects.create(
            project=project,
            kind=KIND,
            params={
                "model": ref.as_dict(),
                "model_key": ref.cache_key,
                "filter": checked,
                "auto": auto,
            },
            created_by=user if getattr(user, "pk", None) else None,
            message="Queued",
        )
        job.total = job_images(job).count()
        job.save(update_fields=["total"])
        job_enqueue(job)
    return job


def embeddings_resume(*, job: Job) -> Job:
    """Continue a stopped preparation: the images it stored are skipped."""
    if job.kind != KIND:
        raise ValidationError({"job": "Only embedding preparations can be resumed here."})
    if job.status == Job.Status.DONE:
        raise ValidationError({"job": "This preparation has finished every image."})
    if job.is_active:
        return job
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.QUEUED, finished_at=None, message="Resuming"
        )
        job_enqueue(job)
    job.refresh_from_db()
    return job


def embeddings_auto_start(*, project_id: int) -> Job | None:
    """Start the preparation of a project that asked for it; nothing otherwise (the setting
    off, no SAM2 model loaded for it)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None or not embeddings_auto(project):
        return None
    if (project.model_selection or {}).get("status") != "loaded":
        return None  # no model was loaded for it: nothing is built just for this
    try:
        return embeddings_start(project=project, user=None, auto=True)
    except ValidationError as error:
        logger.info("project %s: no embeddings prepared (%s)", project_id, error.messages)
        return None


def images_added(*, project_id: int) -> None:
    """Images were added to the pool: the project's automatic preparation takes them."""
    if Project.objects.filter(pk=project_id, ui_settings__embeddings_auto=True).exists():
        transaction.on_commit(lambda: embeddings_auto_start(project_id=project_id))


def on_image_saved(sender, instance: Image, created: bool = False, raw: bool = False, **kwargs):
    """post_save of an Image (an upload, an added URL)."""
    if created and not raw:
        images_added(project_id=instance.project_id)


def on_job_saved(sender, instance: Job, raw: bool = False, **kwargs):
    """post_save of a Job: a finished source scan may have added images."""
    if raw or instance.kind != Job.Kind.SOURCE_SCAN or instance.status != Job.Status.DONE:
        return
    if instance.project_id is not None:
        images_added(project_id=instance.project_id)


# ---------------------------------------------------------------------------------------
# The job


class _Decoded(Pixels):
    """Pixels decoded ahead, on the run's decoding thread: the first call takes them and
    records the image's size and content key, as a read on the spot would."""

    def __init__(self, image: Image, decoding: Future[reader.DecodedImage]) -> None:
        super().__init__(image)
        self.decoding = decoding

    def __call__(self) -> np.ndarray:
        if self._rgb is None:
            try:
                decoded = self.decoding.result()
            except reader.ImageInvalid as error:
                self.image.mark_unavailable(str(error))
                raise image_unavailable(error) from None
            reader.remember(self.image, decoded.width, decoded.height, decoded.key)
            self._rgb = decoded.rgb
        return self._rgb


def _load(image_id: int) -> Image | None:
    related = ("project", "source", "source__credential")
    return Image.objects.select_related(*related).filter(pk=image_id).first()


class _Run:
    """One run of a preparation job: what it did, stepped into its progress.

    While an image encodes, the next one's bytes are decoded (and hashed) on a thread of
    the run's own, so the encoder does not wait for the decoder: on a GPU worker the two
    overlap entirely. Reading the bytes and every database write stay on the job's thread.
    """

    def __init__(self, progress: JobProgress, model: Any, ref: ModelRef) -> None:
        self.progress = progress
        self.model = model
        self.ref = ref
        self.done: set[int] = set()
        self.computed = 0
        self.skipped = 0
        self.failed: list[str] = []
        self.pace = pace_start(time.time())
        self.decoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embeddings-decode")
        self.ahead: tuple[Image, Pixels] | None = None

    def close(self) -> None:
        self.decoder.shutdown(wait=True, cancel_futures=True)

    def image(self, image_id: int, next_id: int | None = None) -> None:
        image, pixels = self._taken(image_id)
        if image is not None:
            self._check_model(image.project)
            self._decode_ahead(next_id)
            outcome = self._prepare(image, pixels)
            if outcome == "computed":
                self.computed += 1
                self.pace = pace_step(self.pace, time.time())
            elif outcome == "stored":
                self.skipped += 1
        self.done.add(image_id)
        job = self.progress.job
        self.progress.step(
            done=len(self.done),
            message=f"Embeddings {len(self.done)}/{job.total}",
            result=self.result(),
        )

    def _taken(self, image_id: int) -> tuple[Image | None, Pixels | None]:
        """The image and its pixels: those decoded ahead when they were, else a lazy read."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None and ahead[0].pk == image_id:
            return ahead
        image = _load(image_id)
        return image, (Pixels(image) if image is not None else None)

    def _decode_ahead(self, image_id: int | None) -> None:
        """Start decoding the next image, unless its features are stored already (then it
        is skipped without a read) or its bytes cannot be read (its turn reports that)."""
        image = _load(image_id) if image_id is not None else None
        if image is None:
            return
        if image.key and embedding_store().contains(self.ref.cache_key, image.key):
            self.ahead = (image, Pixels(image))
            return
        try:
            data = reader.read_or_flag(image)
        except reader.ImageUnavailable:
            self.ahead = (image, Pixels(image))
            return
        self.ahead = (image, _Decoded(image, self.decoder.submit(reader.decode, data)))

    def _prepare(self, image: Image, pixels: Pixels | None) -> str:
        pixels = pixels or Pixels(image)
        try:
            if not image.key or isinstance(pixels, _Decoded):
                # The first read records the image's key; pixels decoded ahead hold the
                # key of the bytes as they are now, which a changed file does not keep.
                pixels()
            return self.model.prepare(image.key, pixels)
        except ValidationError as error:
            self.failed.append(f"{image.path}: {' '.join(error.messages)}"[:300])
            return "failed"

    def _check_model(self, project: Project) -> None:
        try:
            current = selectors.project_model_ref(project).cache_key
        except ValidationError:
            current = ""
        if current != self.ref.cache_key:
            raise JobFailed(
                f"The project's model changed; {len(self.done)} of {self.progress.job.total} "
                "images were prepared for the previous one. Start again for the new model."
            )

    def result(self) -> dict[str, Any]:
        return {
            "computed": self.computed,
            "skipped": self.skipped,
            "failed": self.failed,
            PACE: self.pace,
        }

    def total(self, ids: list[int]) -> None:
        job = self.progress.job
        job.total = len(set(ids) | self.done)
        Job.objects.filter(pk=job.pk).update(total=job.total)


def embeddings_run(*, job_id: int) -> None:
    """Prepare a job's images one by one, then any added meanwhile; stops at a cancel."""

    def work(progress: JobProgress) -> str:
        job = progress.job
        ref = ModelRef.from_dict(job.params["model"])
        ids = list(job_images(job).values_list("pk", flat=True))
        progress.start(total=len(ids), message="Preparing embeddings")
        try:
            model = engine.get_engine(ref, should_stop=progress.cancelled)
        except engine.ModelLoadCancelled:
            raise JobCancelled("Cancelled while the model loaded.") from None
        run = _Run(progress, model, ref)
        progress.step(done=0, result=run.result(), force=True)
        try:
            while todo := [pk for pk in ids if pk not in run.done]:
                for image_id, next_id in zip(todo, [*todo[1:], None], strict=True):
                    run.image(image_id, next_id)
                ids = list(job_images(job).values_list("pk", flat=True))  # added meanwhile
                run.total(ids)
        except JobCancelled:
            raise JobCancelled(
                f"Cancelled; {len(run.done)} of {job.total} images are prepared and kept."
            ) from None
        finally:
            run.close()
        progress.step(done=len(run.done), result=run.result(), force=True)
        failed = f" {len(run.failed)} could not be read." if run.failed else ""
        return (
            f"Embeddings ready for {len(run.done) - len(run.failed)} image(s): "
            f"{run.computed} computed, {run.skipped} already stored.{failed}"
        )

    run_job(job_id, work)


def embeddings_jobs_resume_interrupted() -> list[int]:
    """Queue again the preparations a stopped embedded worker left queued or running (its
    queue lived in memory), and end those it was cancelling; a resumed one skips what it
    stored before."""
    jobs = Job.objects.filter(kind=KIND)
    jobs.filter(status=Job.Status.CANCELLING).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), message="Cancelled."
    )
    ids = list(
        jobs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).values_list("pk", flat=True)
    )
    for job_id in ids:
        task_send(JOB_TASKS[KIND], job_id)
    return ids
