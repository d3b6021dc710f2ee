"""The editor's hot path: check the click's access, validate its prompt, run the engine on
the project's model, save the record and its arrays in one transaction (nothing is written
when the prompt is wrong); and the embeddings prepared ahead of the first click."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from annotator import messages
from inference import engine, selectors, supersede
from inference.prompts import RECORD_COLUMNS, PromptInput
from inference.queues import interactive_queue
from inference.refs import ModelRef
from projects import access, encoding
from projects.errors import DOMAIN_ERRORS, ErrorBody
from projects.jobs import task_send
from projects.models import Image, Prediction
from projects.sources import reader

logger = logging.getLogger(__name__)


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


def image_unavailable(error: Exception) -> ValidationError:
    return ValidationError({"image": f"The image cannot be read: {error}"})


class Pixels:
    """Decodes the image at most once, and only when the model needs pixels."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self._rgb: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self._rgb is None:
            try:
                self._rgb = reader.load(self.image).rgb
            except (reader.ImageUnavailable, reader.ImageInvalid) as error:
                raise image_unavailable(error) from None
        return self._rgb


def model_info(ref: ModelRef) -> dict[str, Any]:
    return {"name": ref.key, **ref.as_dict()}


def prediction_run(*, image: Image, user, prompt: PromptInput) -> PredictionResult:
    """Predict masks for a prompt on the project's model and record inputs and outputs."""
    started = time.perf_counter()
    pixels = Pixels(image)
    if not image.key or not image.width or not image.height:
        pixels()  # the first read records the image's key and size
    ref = selectors.project_model_ref(image.project)
    model = engine.get_engine(ref)
    # The first read above recorded both: an image has a size once it has pixels.
    width, height = image.width or 0, image.height or 0
    checked = prompt_validate(
        prompt,
        image=image,
        width=width,
        height=height,
        logits_size=model.logits_size,
    )
    cached = model.features_ready(image.key)  # in memory or in the shared store
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
        width=width,
        height=height,
        model=prediction.model,
        logits=output.logits.tolist() if prompt.return_logits_to_caller else None,
        embedding_cached=cached,
        timings_ms={
            "prepare": (inferred - started) * 1000,
            "model": (predicted - inferred) * 1000,
            "save": (saved - predicted) * 1000,
        },
    )


def _recorded_inputs(checked: engine.Prompt) -> dict[str, Any]:
    """The checked prompt's values for the record's columns (arrays as JSON lists)."""
    values = {name: getattr(checked, name) for name in RECORD_COLUMNS}
    return {
        name: encoding.array_to_json(value) if isinstance(value, np.ndarray) else value
        for name, value in values.items()
    }


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
                **_recorded_inputs(checked),
                mask_input_file=mask_file,
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


def embedding_prepare_enqueue(image_ids: list[int]) -> None:
    """Each image's embedding is prepared on the click worker that will serve its clicks."""
    by_queue: dict[str, list[int]] = {}
    for image_id in image_ids:
        by_queue.setdefault(interactive_queue(image_id), []).append(image_id)
    for queue, ids in by_queue.items():
        task_send("inference.tasks.embedding_prepare_task", ids, queue=queue)


def embedding_prepare(*, image_ids: list[int]) -> list[int]:
    """Have the embeddings of these images in memory and in the shared store, on their
    project's loaded model, so the first click on each is answered at click speed (an image
    already stored is read, not computed). Returns the ids prepared.

    Nothing is loaded for this: an image whose project has no SAM2 model loaded in this
    process is skipped, and so is an image that cannot be read.
    """
    prepared = []
    images = Image.objects.select_related("project", "source").filter(pk__in=image_ids)
    for image in images:
        ref = selectors.project_model_ref(image.project)
        if ref.is_classic or not engine.is_loaded(ref):
            continue
        pixels = Pixels(image)
        try:
            if not image.key:
                pixels()
            engine.get_engine(ref).embed(image.key, pixels, background=True)
        except ValidationError:
            continue
        prepared.append(image.pk)
    return prepared


class PredictionRequest(TypedDict):
    request_id: str
    user_id: int
    project_id: int  # the socket's: a click is on an image of this project
    image_id: int
    sequence: int
    prompt: dict[str, Any]
    reply_channel: str  # the browser's WebSocket; empty when the caller awaits the reply


SUPERSEDED = ErrorBody(code="superseded", message="A newer click won.", fields=None)


def prediction_image_check(*, user, project_id: int, image_id: int) -> Image:
    """The image a click is on, if `user` may predict on it and it is of the socket's
    project; else Http404 or PermissionDenied."""
    image = access.image_for_user(user, image_id, need="edit")
    if image.project_id != project_id:
        raise Http404("No such image in this project.")
    return image


def _user(user_id: int):
    try:
        return get_user_model().objects.get(pk=user_id)
    except get_user_model().DoesNotExist:
        raise Http404("No such user.") from None


def prediction_handle(request: PredictionRequest, *, user=None) -> messages.Message:
    """Check access, validate, run and save one click, and shape its answer; never raises.
    The serving process passes the socket's user; a worker reads the request's."""
    request_id, image_id = request["request_id"], request["image_id"]
    if not supersede.is_latest(request["user_id"], image_id, request["sequence"]):
        return messages.error(SUPERSEDED, request_id=request_id, image_id=image_id)
    try:
        user = user if user is not None else _user(request["user_id"])
        image = prediction_image_check(
            user=user, project_id=request["project_id"], image_id=image_id
        )
        prompt = PromptInput.from_dict(request["prompt"])
        result = prediction_run(image=image, user=user, prompt=prompt)
    except DOMAIN_ERRORS as error:
        return messages.error_of(error, request_id=request_id, image_id=image_id)
    except Exception as error:
        logger.exception("prediction failed")
        failed = ErrorBody(code="failed", message=f"Prediction failed: {error}", fields=None)
        return messages.error(failed, request_id=request_id, image_id=image_id)
    return messages.prediction(request_id=request_id, image_id=image_id, result=result.as_dict())
