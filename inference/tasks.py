"""Celery tasks: one-line wrappers that pass ids to the services.

Routing (settings.CELERY_TASK_ROUTES): clicks, model loads and prefetches on `interactive`,
automask and the pool's embedding preparation on `gpu`, downloads on `default`. Every task
is idempotent: a redelivered job task finds its job finished, and a resumed pool job or a
redelivered chunk of one skips the images it did.
"""

import socket

from celery import shared_task
from channels.layers import get_channel_layer

from inference import dispatch, engine, refs
from inference.services import automask, downloads, embeddings, loading, predictions
from projects.events import layer_call


@shared_task(name="inference.tasks.prediction_task", ignore_result=True, acks_late=False)
def prediction_task(request: predictions.PredictionRequest) -> None:
    # acks_late off: a click is worth nothing after a worker crash; the user clicks again.
    reply = predictions.prediction_handle(request)
    layer_call(
        get_channel_layer().send,
        request["reply_channel"],
        {"type": "inference.reply", "reply": reply},
    )


@shared_task(name="inference.tasks.model_load_task", ignore_result=True)
def model_load_task(job_id: int) -> None:
    loading.model_load_run(job_id=job_id)


@shared_task(name="inference.tasks.model_download_task", ignore_result=True)
def model_download_task(job_id: int) -> None:
    downloads.model_download_run(job_id=job_id)


@shared_task(name="inference.tasks.automask_pool_task", ignore_result=True)
def automask_pool_task(job_id: int) -> None:
    automask.automask_pool_run(job_id=job_id)


@shared_task(name="inference.tasks.automask_chunk_task", bind=True, ignore_result=True)
def automask_chunk_task(self, job_id: int, image_ids: list[int]) -> None:
    # Acks are late (settings): a chunk of a killed worker is delivered again, and finds the
    # images it did.
    worker = self.request.hostname or socket.gethostname()
    automask.automask_chunk_run(job_id=job_id, image_ids=image_ids, worker=worker)


@shared_task(name="inference.tasks.embedding_prepare_task", ignore_result=True)
def embedding_prepare_task(image_ids: list[int]) -> None:
    # Off the click worker's only task slot, so a click never queues behind a prefetch.
    dispatch.prepare_aside(image_ids)


@shared_task(name="inference.tasks.embeddings_prepare_job_task", ignore_result=True)
def embeddings_prepare_job_task(job_id: int) -> None:
    embeddings.embeddings_run(job_id=job_id)


@shared_task(name="inference.tasks.model_warm_task", ignore_result=True)
def model_warm_task(ref: dict) -> None:
    engine.get_engine(refs.ModelRef.from_dict(ref))
