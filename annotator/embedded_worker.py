"""Celery workers that run inside the serving process, for the embedded mode.

They consume the in-memory broker from daemon threads, so long jobs never block a request and
no external service is needed. Two worker controllers keep interactive work (model loads)
apart from batch work (automask, downloads); clicks themselves go to a dedicated thread (see
inference.dispatch). Production runs separate `celery worker` processes instead.
"""

import logging
import threading

from celery import Celery
from celery.worker import WorkController
from django.conf import settings

from annotator.celery import app

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_workers: list[tuple[WorkController, threading.Thread]] = []

# name, queues, threads (None: ANNOTATOR_EMBEDDED_WORKER_THREADS)
CONTROLLERS = [
    ("interactive", ["interactive"], 1),
    ("batch", ["default", "gpu"], None),
]


def _app_for(name: str) -> Celery:
    """A Celery app per controller: the queues a worker consumes live on its app, so two
    controllers on one app would both consume the last one's queues."""
    if name == CONTROLLERS[0][0]:
        return app
    other = Celery(f"annotator-{name}", set_as_current=False)
    other.config_from_object("django.conf:settings", namespace="CELERY")
    other.autodiscover_tasks()
    return other


class _ReadySignal:
    """Mixed into a controller: tells when its consumer is connected."""

    def on_consumer_ready(self, consumer):
        super().on_consumer_ready(consumer)
        self.ready.set()


def _controller(name: str, queues: list[str], threads: int | None):
    controller_class = type("EmbeddedWorker", (_ReadySignal, _app_for(name).WorkController), {})
    worker = controller_class(
        pool_cls="threads",
        concurrency=threads or settings.ANNOTATOR_EMBEDDED_WORKER_THREADS,
        queues=queues,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        hostname=f"embedded-{name}@localhost",
    )
    worker.ready = threading.Event()
    thread = threading.Thread(target=worker.start, name=f"embedded-{name}", daemon=True)
    thread.start()
    # Returning before the consumer is connected would let a quick stop() race its start.
    if not worker.ready.wait(timeout=30):
        raise RuntimeError(f"the embedded {name} worker did not start within 30 s")
    return worker, thread


def start_embedded_worker() -> list[WorkController]:
    """Start the in-process workers once; later calls return the running ones."""
    with _lock:
        if _workers:
            return [worker for worker, _ in _workers]
        _workers.extend(_controller(*spec) for spec in CONTROLLERS)
        logger.info("embedded Celery workers started: %s", ", ".join(s[0] for s in CONTROLLERS))
    # The in-memory queue does not survive a restart: queue again the jobs it lost.
    from inference.services.automask import automask_jobs_resume_interrupted

    resumed = automask_jobs_resume_interrupted()
    if resumed:
        logger.info("resumed automask jobs %s", resumed)
    from inference.services.embeddings import embeddings_jobs_resume_interrupted

    prepared = embeddings_jobs_resume_interrupted()
    if prepared:
        logger.info("resumed embedding preparations %s", prepared)
    return [worker for worker, _ in _workers]


def stop_embedded_worker() -> None:
    with _lock:
        for worker, _ in _workers:
            worker.stop(in_sighandler=False)
        for _, thread in _workers:
            thread.join(timeout=30)
        _workers.clear()
