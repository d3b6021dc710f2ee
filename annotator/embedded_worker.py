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
_thread: threading.Thread | None = None


class EmbeddedWorker(app.WorkController):
    def __init__(self, *args, **kwargs):
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer):
        super().on_consumer_ready(consumer)
        self.ready.set()


def start_embedded_worker() -> WorkController:
    """Start the in-process worker once; later calls return the running one."""
    global _worker, _thread
    with _lock:
        if _worker is not None:
            return _worker
        worker = EmbeddedWorker(
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
        # Returning before the consumer is connected would let a quick stop() race its start.
        if not worker.ready.wait(timeout=30):
            raise RuntimeError("the embedded worker did not start within 30 s")
        _worker, _thread = worker, thread
        logger.info("embedded Celery worker started (%s threads)", worker.concurrency)
        return worker


def stop_embedded_worker() -> None:
    global _worker, _thread
    with _lock:
        if _worker is not None:
            _worker.stop(in_sighandler=False)
            _thread.join(timeout=30)
            _worker, _thread = None, None
