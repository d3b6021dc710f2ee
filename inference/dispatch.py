"""Where a click runs: a Celery worker on the `interactive` queue, or in this process.

In the embedded mode the worker lives in the serving process: a click goes straight to one
dedicated thread (no broker polling in between), apart from the Celery threads that run
automask jobs, so it never waits behind them. Otherwise it is a task on `interactive` and the
worker answers through the channel layer.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings

from inference import tasks

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def in_process() -> bool:
    return bool(settings.ANNOTATOR_EMBEDDED_WORKER) and not settings.REDIS_URL


def _interactive_executor() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interactive")
        return _executor


async def predict_in_process(request: tasks.PredictionRequest) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_interactive_executor(), tasks.prediction_handle, request)


def predict_enqueue(request: tasks.PredictionRequest) -> None:
    tasks.prediction_task.apply_async(args=[request])
