"""Where a click runs: a Celery worker on the `interactive` queue, or in this process.

In the embedded mode the worker lives in the serving process: a click goes straight to one
dedicated thread (no broker polling in between), apart from the Celery threads that run
automask jobs, so it never waits behind them. Otherwise it is a task on `interactive` and the
worker answers through the channel layer.
"""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from inference.queues import interactive_queue
from inference.services import predictions
from inference.services.predictions import PredictionRequest
from projects.jobs import task_send

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def in_process() -> bool:
    # Without Redis no other process could take a click off the in-memory broker.
    return not settings.REDIS_URL


def interactive_executor() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interactive")
        return _executor


async def predict_in_process(
    request: PredictionRequest, check: Callable[[], Any]
) -> dict[str, Any]:
    """Run `check` (the access check, returning the image) then the click, in one hop to
    the interactive thread."""

    def run() -> dict[str, Any]:
        try:
            image = check()
        except (Http404, PermissionDenied, ValueError) as error:
            return error_reply(request["request_id"], request["image_id"], error)
        return predictions.prediction_handle(request, user=image.checked_user, image=image)

    return await asyncio.get_running_loop().run_in_executor(interactive_executor(), run)


def error_reply(request_id: str, image_id, error: Exception) -> dict[str, Any]:
    message = str(error)
    if isinstance(error, PermissionDenied) and not message:
        message = "Your role cannot change annotations in this project."
    return {
        "type": "error",
        "request_id": request_id,
        "image_id": image_id,
        "message": message or "You cannot predict on this image.",
    }


def predict_enqueue(request: PredictionRequest) -> None:
    queue = interactive_queue(request["image_id"])
    task_send("inference.tasks.prediction_task", request, queue=queue)


def embedding_prepare_enqueue(image_ids: list[int]) -> None:
    """Each image's embedding is prepared on the click worker that will serve its clicks."""
    by_queue: dict[str, list[int]] = {}
    for image_id in image_ids:
        by_queue.setdefault(interactive_queue(image_id), []).append(image_id)
    for queue, ids in by_queue.items():
        task_send("inference.tasks.embedding_prepare_task", ids, queue=queue)
