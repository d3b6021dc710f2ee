"""Celery tasks: thin wrappers that pass ids to the services.

Routing (settings.CELERY_TASK_ROUTES): clicks and model loads on `interactive`, automask on
`gpu`, downloads on `default`. Every task is idempotent: a redelivered job task finds its job
finished, and a resumed pool job or a redelivered chunk of one skips the images it did.
"""

import logging
import socket
from typing import Any, TypedDict

from celery import shared_task
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from inference import services, supersede
from projects.events import layer_call
from projects.models import Image

logger = logging.getLogger(__name__)


class PredictionRequest(TypedDict):
    request_id: str
    user_id: int
    image_id: int
    sequence: int
    prompt: dict[str, Any]
    reply_channel: str  # the browser's WebSocket; empty when the caller awaits the reply


def prediction_handle(request: PredictionRequest, *, user=None, image=None) -> dict[str, Any]:
    """Run one click and shape the WebSocket answer (never raises). A caller that checked
    access already passes the user and image it read."""
    base = {"request_id": request["request_id"], "image_id": request["image_id"]}
    if not supersede.is_latest(request["user_id"], request["image_id"], request["sequence"]):
        return {**base, "type": "error", "code": "superseded", "message": "A newer click won."}
    try:
        if image is None:
            image = Image.objects.select_related("project", "source").get(pk=request["image_id"])
        if user is None:
            user = get_user_model().objects.get(pk=request["user_id"])
        prompt = services.PromptInput.from_dict(request["prompt"])
        result = services.prediction_run(image=image, user=user, prompt=prompt)
    except ValidationError as error:
        message = (
            " ".join(f"{name}: {' '.join(texts)}" for name, texts in error.message_dict.items())
            if hasattr(error, "error_dict")
            else " ".join(error.messages)
        )
        return {**base, "type": "error", "code": "invalid", "message": message}
    except Image.DoesNotExist:
        return {**base, "type": "error", "code": "not_found", "message": "No such image."}
    except Exception as error:
        logger.exception("prediction failed")
        return {**base, "type": "error", "code": "failed", "message": f"Prediction failed: {error}"}
    return {**base, "type": "prediction", **result.as_dict()}


def reply_send(channel: str, reply: dict[str, Any]) -> None:
    layer_call(get_channel_layer().send, channel, {"type": "inference.reply", "reply": reply})


@shared_task(name="inference.tasks.prediction_task", ignore_result=True, acks_late=False)
def prediction_task(request: PredictionRequest) -> None:
    # acks_late off: a click is worth nothing after a worker crash; the user clicks again.
    reply_send(request["reply_channel"], prediction_handle(request))


@shared_task(name="inference.tasks.model_load_task", ignore_result=True)
def model_load_task(job_id: int) -> None:
    services.model_load_run(job_id=job_id)


@shared_task(name="inference.tasks.model_download_task", ignore_result=True)
def model_download_task(job_id: int) -> None:
    services.model_download_run(job_id=job_id)


@shared_task(name="inference.tasks.automask_pool_task", ignore_result=True)
def automask_pool_task(job_id: int) -> None:
    """Coordinate a pool job: queue its unfinished images as chunk tasks."""
    services.automask_pool_run(job_id=job_id)


@shared_task(name="inference.tasks.automask_chunk_task", bind=True, ignore_result=True)
def automask_chunk_task(self, job_id: int, image_ids: list[int]) -> None:
    # Acks are late (settings): a chunk of a killed worker is delivered again, and finds the
    # images it did.
    worker = self.request.hostname or socket.gethostname()
    logger.info("automask job %s: images %s on %s", job_id, image_ids, worker)
    services.automask_chunk_run(job_id=job_id, image_ids=image_ids, worker=worker)


@shared_task(ignore_result=True)
def embedding_prepare_task(image_ids: list[int]) -> None:
    """Warm the embedding cache where clicks are served (the interactive queue)."""
    services.embedding_prepare(image_ids=image_ids)


@shared_task(ignore_result=True)
def model_warm_task(ref: dict) -> None:
    """Load a model that a load job loaded on another click worker, so that this worker's
    first click and embedding preparation find it in memory."""
    from inference import engine

    engine.get_engine(engine.ModelRef.from_dict(ref))
