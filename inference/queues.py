"""The click workers' queues: each image belongs to one shard, whose worker keeps its
embedding, so every click and preparation for that image goes to the same worker."""

from django.conf import settings


def interactive_queue(image_id: int) -> str:
    """The queue of the click worker that owns this image (and so caches its embedding)."""
    shard = int(image_id) % settings.ANNOTATOR_INTERACTIVE_WORKERS
    return "interactive" if shard == 0 else f"interactive-{shard}"


def interactive_queues() -> list[str]:
    return ["interactive"] + [
        f"interactive-{shard}" for shard in range(1, settings.ANNOTATOR_INTERACTIVE_WORKERS)
    ]
