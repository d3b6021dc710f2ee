"""Typed events to browsers: services publish here, consumers relay them unchanged, each in
the WebSocket's one envelope (annotator.messages).

Groups are `project.<id>` (everyone with the project open) and `user.<id>` (one person's
tabs). A publish never fails the caller: a dropped event is logged, the saved state stays.
"""

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from annotator.messages import message as envelope

logger = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10

_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def project_group(project_id: int) -> str:
    return f"project.{project_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _sender_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for sends to a Redis channel layer, on a thread of its own.

    async_to_sync would run each send in a new loop, and the layer keeps its Redis
    connections per loop: every click answer and progress event paid for a new connection.
    A forked worker process starts its own loop (the parent's thread is not in the child).
    """
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def layer_call(method: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    """Call a channel layer method (send, group_send) from synchronous code."""
    if isinstance(getattr(method, "__self__", None), InMemoryChannelLayer):
        # The in-memory layer's queues belong to the serving process's own loop.
        async_to_sync(method)(*args)
        return
    future = asyncio.run_coroutine_threadsafe(method(*args), _sender_loop())
    future.result(timeout=SEND_TIMEOUT_S)


def publish(group: str, event_type: str, data: Mapping[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "relay", "event": envelope(event_type, data)}
    try:
        layer_call(layer.group_send, group, message)
    except Exception:
        logger.exception("could not publish %s to %s", event_type, group)


async def apublish(group: str, event_type: str, data: Mapping[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "relay", "event": envelope(event_type, data)}
    try:
        await layer.group_send(group, message)
    except Exception:
        logger.exception("could not publish %s to %s", event_type, group)


def notify_user(user_id: int, *, kind: str, text: str, project_id: int, url: str = "", **extra):
    """Tell one person, on every page they have open, that something needs them (their image
    was rejected, work was assigned to them). Sent once the current transaction commits, so a
    notice never announces a change that was rolled back."""
    data = {"kind": kind, "text": text, "project_id": project_id, "url": url, **extra}
    transaction.on_commit(lambda: publish(user_group(user_id), "notice", data))
