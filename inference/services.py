"""Inference workflows: predict on a click, automask, load and download models.

`prediction_run` is the editor's hot path: it validates the prompt (nothing is written when
it is wrong), runs the engine on the project's model and saves the record in one
transaction. Long work (loads, downloads, pool automask) is a Job run by a task through
projects.jobs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from inference import download, engine, refs, registry, selectors
from inference.refs import ModelRef
from projects import encoding
from projects.events import project_group, publish
from projects.jobs import FAILED, WORKING, JobProgress, SharedJob, run_job
from projects.models import AutomaskMask, AutomaskRun, Image, Job, Prediction, Project
from projects.sources import reader

# ---------------------------------------------------------------------------------------
# Prompts and predictions


@dataclass
class PromptInput:
    """A prompt as a client sends it (JSON values); see prompt_validate for the rules."""

    point_coords: Any = None
    point_labels: Any = None
    box: Any = None
    mask_input: Any = None
    # Instead of sending 256x256 logits back, a client may name an earlier prediction of the
    # same image and which of its masks to refine.
    mask_input_prediction: int | None = None
    mask_input_index: int = 0
    multimask_output: bool = True
    normalize_coords: bool = True
    return_logits_to_caller: bool = False
    sort_results: bool = True

    FIELDS = (
        "point_coords",
        "point_labels",
        "box",
        "mask_input",
        "mask_input_prediction",
        "mask_input_index",
        "multimask_output",
        "normalize_coords",
        "return_logits_to_caller",
        "sort_results",
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptInput:
        values = {name: data[name] for name in cls.FIELDS if name in data}
        for flag in ("multimask_output", "normalize_coords", "return_logits_to_caller"):
            if flag in values and not isinstance(values[flag], bool):
                raise ValidationError({flag: "Must be true or false."})
        if "sort_results" in values and not isinstance(values["sort_results"], bool):
            raise ValidationError({"sort_results": "Must be true or false."})
        return cls(**values)


@dataclass
class PredictionResult:
    prediction_id: int
    masks: list[dict]  # COCO RLE, image size
    scores: list[float]
    width: int
    height: int
    model: dict[str, Any]
    logits: list | None = None  # low-res logits, when return_logits_to_caller
    embedding_cached: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "prediction_id": self.prediction_id,
            "masks": self.masks,
            "scores": self.scores,
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "logits": self.logits,
            "embedding_cached": self.embedding_cached,
        }


def _array(value, name: str, *, dtype, shape_hint: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValidationError({name: f"Must be {shape_hint} of numbers."}) from None
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValidationError({name: "Contains NaN or infinite values."})
    return array


def _check_inside(array: np.ndarray, name: str, width: int, height: int, normalized: bool):
    limit_x, limit_y = (width, height) if normalized else (1.0, 1.0)
    xs, ys = array[..., 0::2], array[..., 1::2]
    if (xs < 0).any() or (ys < 0).any() or (xs > limit_x).any() or (ys > limit_y).any():
        where = f"{width}x{height} image" if normalized else "0..1 range (normalize_coords off)"
        raise ValidationError({name: f"Coordinates lie outside the {where}."})


def _points(prompt: PromptInput, width: int, height: int):
    if prompt.point_coords is None and prompt.point_labels is None:
        return None, None
    if prompt.point_coords is None or prompt.point_labels is None:
        raise ValidationError({"point_labels": "Send point_coords and point_labels together."})
    coords = _array(prompt.point_coords, "point_coords", dtype=np.float32, shape_hint="[[x, y]]")
    labels = _array(prompt.point_labels, "point_labels", dtype=np.float64, shape_hint="[0 or 1]")
    if coords.ndim != 2 or coords.shape[1] != 2 or coords.shape[0] == 0:
        raise ValidationError({"point_coords": "Must be a non-empty list of [x, y] pairs."})
    if labels.shape != (coords.shape[0],):
        raise ValidationError({"point_labels": "Must have one label per point."})
    if not np.isin(labels, (0, 1)).all():
        raise ValidationError({"point_labels": "Each label must be 1 (object) or 0 (background)."})
    _check_inside(coords, "point_coords", width, height, prompt.normalize_coords)
    return coords, labels.astype(np.int32)


def _box(prompt: PromptInput, width: int, height: int):
    if prompt.box is None:
        return None
    box = _array(prompt.box, "box", dtype=np.float32, shape_hint="[x1, y1, x2, y2]")
    if not (box.shape == (4,) or (box.ndim == 2 and box.shape[1] == 4 and box.shape[0] > 0)):
        raise ValidationError({"box": "Must be [x1, y1, x2, y2] or a list of such boxes."})
    flat = box.reshape(-1, 4)
    if ((flat[:, 2] < flat[:, 0]) | (flat[:, 3] < flat[:, 1])).any():
        raise ValidationError({"box": "Each box must have x1 <= x2 and y1 <= y2."})
    _check_inside(flat, "box", width, height, prompt.normalize_coords)
    return box


def _mask_input(prompt: PromptInput, image: Image, logits_size: int):
    if prompt.mask_input_prediction is not None:
        previous = Prediction.objects.filter(pk=prompt.mask_input_prediction, image=image).first()
        if previous is None or not previous.logits_file:
            raise ValidationError(
                {"mask_input_prediction": "No earlier prediction with logits on this image."}
            )
        logits = encoding.array_open(previous.logits_file)
        if not 0 <= prompt.mask_input_index < len(logits):
            raise ValidationError({"mask_input_index": f"Must be 0..{len(logits) - 1}."})
        mask = logits[prompt.mask_input_index][None]
    elif prompt.mask_input is not None:
        mask = _array(prompt.mask_input, "mask_input", dtype=np.float32, shape_hint="logits")
        if mask.ndim == 2:
            mask = mask[None]
    else:
        return None
    if mask.shape != (1, logits_size, logits_size):
        raise ValidationError(
            {"mask_input": f"Must be low-res logits of shape 1x{logits_size}x{logits_size}."}
        )
    return mask.astype(np.float32)


def prompt_validate(
    prompt: PromptInput, *, image: Image, width: int, height: int, logits_size: int
) -> engine.Prompt:
    """The engine's prompt, or a ValidationError a person can act on."""
    coords, labels = _points(prompt, width, height)
    box = _box(prompt, width, height)
    if coords is None and box is None and prompt.mask_input is None:
        if prompt.mask_input_prediction is None:
            raise ValidationError({"prompt": "Give at least a point, a box or a mask input."})
    if coords is not None and box is not None and box.ndim == 2 and box.shape[0] > 1:
        raise ValidationError({"box": "Points can be combined with one box only."})
    return engine.Prompt(
        point_coords=coords,
        point_labels=labels,
        box=box,
        mask_input=_mask_input(prompt, image, logits_size),
        # Several boxes ask for one mask each: the seed turns multimask off for them.
        multimask_output=prompt.multimask_output and (box is None or box.ndim == 1),
        normalize_coords=prompt.normalize_coords,
        return_logits_to_caller=prompt.return_logits_to_caller,
        sort_results=prompt.sort_results,
    )


def _image_unavailable(error: Exception) -> ValidationError:
    return ValidationError({"image": f"The image cannot be read: {error}"})


class _Pixels:
    """Decodes the image at most once, and only when the model needs pixels."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self._rgb: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self._rgb is None:
            try:
                self._rgb = reader.load(self.image).rgb
            except (reader.ImageUnavailable, reader.ImageInvalid) as error:
                raise _image_unavailable(error) from None
        return self._rgb


def model_info(ref: ModelRef) -> dict[str, Any]:
    return {"name": ref.key, **ref.as_dict()}


def prediction_run(*, image: Image, user, prompt: PromptInput) -> PredictionResult:
    """Predict masks for a prompt on the project's model and record inputs and outputs."""
    started = time.perf_counter()
    pixels = _Pixels(image)
    if not image.key or not image.width or not image.height:
        pixels()  # the first read records the image's key and size
    ref = selectors.project_model_ref(image.project)
    model = engine.get_engine(ref)
    checked = prompt_validate(
        prompt,
        image=image,
        width=image.width,
        height=image.height,
        logits_size=model.logits_size,
    )
    cached = (ref.cache_key, image.key) in engine.embedding_cache()
    inferred = time.perf_counter()
    output = model.predict(image.key, pixels, checked)
    predicted = time.perf_counter()
    prediction = prediction_save(
        image=image, user=user, prompt=prompt, checked=checked, output=output, ref=ref
    )
    saved = time.perf_counter()
    return PredictionResult(
        prediction_id=prediction.pk,
        masks=prediction.masks,
        scores=prediction.scores,
        width=image.width,
        height=image.height,
        model=prediction.model,
        logits=output.logits.tolist() if prompt.return_logits_to_caller else None,
        embedding_cached=cached,
        timings_ms={
            "prepare": (inferred - started) * 1000,
            "model": (predicted - inferred) * 1000,
            "save": (saved - predicted) * 1000,
        },
    )


def prediction_save(
    *, image: Image, user, prompt: PromptInput, checked: engine.Prompt, output, ref: ModelRef
) -> Prediction:
    """Write the record, its arrays and the image's flag together, or nothing."""
    project_id = image.project_id
    # Float logits shrink by ~7% under zlib, which costs ~20 ms on every click: store raw.
    logits_file = encoding.array_save(
        output.logits.astype(np.float32, copy=False), project_id=project_id, compressed=False
    )
    mask_file = ""
    if checked.mask_input is not None:
        mask_file = encoding.array_save(checked.mask_input, project_id=project_id)
    try:
        with transaction.atomic():
            prediction = Prediction.objects.create(
                image=image,
                created_by=user if getattr(user, "pk", None) else None,
                point_coords=encoding.array_to_json(checked.point_coords),
                point_labels=encoding.array_to_json(checked.point_labels),
                box=encoding.array_to_json(checked.box),
                mask_input_file=mask_file,
                multimask_output=checked.multimask_output,
                normalize_coords=checked.normalize_coords,
                return_logits_to_caller=checked.return_logits_to_caller,
                sort_results=checked.sort_results,
                model=model_info(ref),
                masks=[encoding.mask_to_rle(mask) for mask in output.masks],
                scores=[float(score) for score in output.scores],
                logits_file=logits_file,
            )
            if not image.has_manual_prediction:
                image.refresh_status()
                image.save(update_fields=["has_manual_prediction", "status"])
    except Exception:
        encoding.array_delete(logits_file)
        encoding.array_delete(mask_file)
        raise
    return prediction


# ---------------------------------------------------------------------------------------
# Model selection, load and download


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
    from inference import tasks

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
        transaction.on_commit(lambda: tasks.model_load_task.delay(job.pk))
        if settings.ANNOTATOR_INTERACTIVE_WORKERS > 1 and not ref.is_classic:
            from inference import dispatch

            transaction.on_commit(lambda: dispatch.model_warm_enqueue(ref.as_dict()))
    return job


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
            raise RuntimeError(f"Could not load {ref.key}: {error}") from error
        progress.check()
        seconds = time.perf_counter() - started
        device = getattr(model, "device", "cpu")
        message = f"Loaded {ref.key} on {device} in {seconds:.2f} s."
        _state_update(
            progress.job.project_id,
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


def _load_end_state(job_id: int) -> None:
    """Reflect a failed or cancelled load in the project state; the previous model stays."""
    job = Job.objects.get(pk=job_id)
    if job.status in (Job.Status.FAILED, Job.Status.CANCELLED):
        state = job.project.model_selection
        if state.get("job_id") == job.pk:
            _state_update(job.project_id, status=job.status, message=job.message)


def model_load_cancel(*, project: Project) -> Job | None:
    job = selectors.active_job(project, Job.Kind.MODEL_LOAD)
    if job is not None:
        job.request_cancel()
        if job.status == Job.Status.CANCELLING and job.started_at is None:
            Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED)
            job.refresh_from_db()
            _state_update(project.pk, status="cancelled", message="Load cancelled.")
    return job


def model_download_start(*, project: Project, user, key: str) -> Job:
    spec = registry.spec_for(key)
    if spec.is_present():
        raise ValidationError({"key": f"{spec.label} is downloaded already."})
    from inference import tasks

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
        transaction.on_commit(lambda: tasks.model_download_task.delay(job.pk))
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
        job.request_cancel()
    return job


# ---------------------------------------------------------------------------------------
# Automask


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
    masks = model.automask(_Pixels(image)(), params)
    return automask_records(image=image, user=user, ref=ref, params=params, masks=masks, job=job)


def automask_start(
    *, project: Project, user, params: dict[str, Any], image_ids: list[int] | None = None
) -> Job:
    """Start automask over the pool (or the given images of it) as a resumable job."""
    from inference import tasks

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
        transaction.on_commit(lambda: tasks.automask_pool_task.delay(job.pk))
    return job


def automask_resume(*, job: Job) -> Job:
    """Continue a stopped pool job; images it finished are skipped."""
    from inference import tasks

    if job.kind != Job.Kind.AUTOMASK_POOL:
        raise ValidationError({"job": "Only automask jobs can be resumed."})
    if job.status == Job.Status.DONE:
        raise ValidationError({"job": "This job has finished every image."})
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.QUEUED, finished_at=None, message="Resuming"
        )
        transaction.on_commit(lambda: tasks.automask_pool_task.delay(job.pk))
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
    from inference import tasks

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
            tasks.automask_chunk_task.delay(job_id, todo[index : index + size])
    except Exception as error:  # the reason goes to the person who started the job
        progress.fail("", error)
        raise


def automask_chunk_run(*, job_id: int, image_ids: list[int], worker: str = "") -> None:
    """Automask a few images of a pool job, one at a time, stopping when the job no longer
    runs. Safe to run twice: an image with its run is not done again."""
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
        project_group(job.project_id),
        "automask.image",
        {"job": job.pk, "image": image.pk, "run": run.pk, "masks": run.masks.count()},
    )
    return None


def automask_jobs_resume_interrupted() -> list[int]:
    """Queue again the pool jobs a stopped worker left running (the embedded worker's
    queue lives in memory, so a restart loses its queued tasks), and end those it was
    cancelling: nothing works on them any more."""
    from inference import tasks

    jobs = Job.objects.filter(kind=Job.Kind.AUTOMASK_POOL)
    for job_id in jobs.filter(status=Job.Status.CANCELLING).values_list("pk", flat=True):
        AutomaskProgress(job_id).abandon()
    ids = list(
        jobs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).values_list("pk", flat=True)
    )
    for job_id in ids:
        tasks.automask_pool_task.delay(job_id)
    return ids


def embedding_prepare(*, image_ids: list[int]) -> list[int]:
    """Compute and cache the embeddings of these images on their project's loaded model, so
    the first click on each is answered at click speed. Returns the ids prepared.

    Nothing is loaded for this: an image whose project has no SAM2 model loaded in this
    process is skipped, and so is an image that cannot be read.
    """
    prepared = []
    images = Image.objects.select_related("project", "source").filter(pk__in=image_ids)
    for image in images:
        ref = selectors.project_model_ref(image.project)
        if ref.is_classic or not engine.is_loaded(ref):
            continue
        pixels = _Pixels(image)
        try:
            if not image.key:
                pixels()
            engine.get_engine(ref).embed(image.key, pixels)
        except ValidationError:
            continue
        prepared.append(image.pk)
    return prepared
