"""Where a click runs: a Celery worker on the `interactive` queue, or in this process.

In the embedded mode the worker lives in the serving process: a click goes straight to one
dedicated thread (no broker polling in between), apart from the Celery threads that run
automask jobs, so it never waits behind them. Otherwise it is a task on `interactive` and the
worker answers through the channel layer.
"""

import asyncio
import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

from annotator import messages
from inference import supersede
from inference.queues import interactive_queue
from inference.services import predictions
from inference.services.predictions import PredictionRequest
from projects.errors import DOMAIN_ERRORS
from projects.jobs import task_send

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_preparer: ThreadPoolExecutor | None = None
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


def prepare_aside(image_ids: list[int]) -> None:
    """Prepare these images' embeddings without holding the caller's thread when that
    thread also serves clicks: a click worker (one task at a time) hands the work to a
    thread of its own and takes the next click at once. In this process the caller is the
    embedded model-load thread, not the click thread, so it prepares them itself (the
    engine lets a click through between images)."""
    if in_process():
        predictions.embedding_prepare(image_ids=image_ids)
        return
    global _preparer
    with _lock:
        if _preparer is None:
            _preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")
    _preparer.submit(_prepare_logged, list(image_ids))


def _prepare_logged(image_ids: list[int]) -> None:
    try:
        predictions.embedding_prepare(image_ids=image_ids)
    except Exception:  # a prefetch that failed costs its image one cold click, no more
        logger.exception("preparing embeddings of %s failed", image_ids)
    finally:
        close_old_connections()


@dataclass(frozen=True)
class Click:
    """A predict message as the socket read it: whose, where, which prompt, answered where."""

    user: Any
    project_id: int
    image_id: int
    request_id: str
    prompt: dict[str, Any]
    reply_channel: str

    def numbered(self) -> PredictionRequest:
        """The request a worker runs; a newer number of this user and image supersedes it."""
        return PredictionRequest(
            request_id=self.request_id,
            user_id=self.user.pk,
            project_id=self.project_id,
            image_id=self.image_id,
            sequence=supersede.next_number(self.user.pk, self.image_id),
            prompt=self.prompt,
            reply_channel=self.reply_channel,
        )


async def predict(click: Click) -> messages.Message | None:
    """Run or queue a click. In process: its answer, after one hop to the interactive
    thread. Queued: None once it is on its image's queue (the worker answers the socket
    through the channel layer), or the error that kept it off."""
    if in_process():
        # Numbered here, in arrival order; checked and run on the interactive thread.
        run = functools.partial(predictions.prediction_handle, click.numbered(), user=click.user)
        return await asyncio.get_running_loop().run_in_executor(interactive_executor(), run)
    try:
        await database_sync_to_async(predict_enqueue)(click)
    except DOMAIN_ERRORS as error:
        return messages.error_of(error, request_id=click.request_id, image_id=click.image_id)
    return None


def predict_enqueue(click: Click) -> None:
    """Check, number and queue a click for the worker that owns its image. The check here
    answers a refused click at once; the worker checks again when it runs it."""
    predictions.prediction_image_check(
        user=click.user, project_id=click.project_id, image_id=click.image_id
    )
    queue = interactive_queue(click.image_id)
    task_send("inference.tasks.prediction_task", click.numbered(), queue=queue)
