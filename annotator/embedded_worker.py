"""A Celery worker that runs inside the serving process, for the embedded mode.

It consumes the in-memory broker from daemon threads, so long jobs never block a request and
no external service is needed. Production runs separate `celery worker` processes instead.
"""

import logging
import threading

from celery.worker import WorkController
from django.conf import settings

from annotator.celery import app

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_worker: WorkController | None = None


def start_embedded_worker() -> WorkController:
    """Start the in-process worker once; later calls return the running one."""
    global _worker
    with _lock:
        if _worker is not None:
            return _worker
        worker = app.WorkController(
            pool_cls="threads",
            concurrency=settings.ANNOTATOR_EMBEDDED_WORKER_THREADS,
            queues=["default", "gpu"],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname="embedded@localhost",
        )
        thread = threading.Thread(target=worker.start, name="embedded-worker", daemon=True)
        thread.start()
        _worker = worker
        logger.info("embedded Celery worker started (%s threads)", worker.concurrency)
        return worker


def stop_embedded_worker() -> None:
    global _worker
    with _lock:
        if _worker is not None:
            _worker.stop(in_sighandler=False)
            _worker = None
