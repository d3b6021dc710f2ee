"""Typed events to browsers: services publish here, consumers relay them unchanged.

Groups are `project.<id>` (everyone with the project open) and `user.<id>` (one person's
tabs). A publish never fails the caller: a dropped event is logged, the saved state stays.
"""

import logging
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


class Event(TypedDict):
    type: str
    data: dict[str, Any]


def project_group(project_id: int) -> str:
    return f"project.{project_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish(group: str, event_type: str, data: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "relay", "event": Event(type=event_type, data=data)}
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.exception("could not publish %s to %s", event_type, group)


async def apublish(group: str, event_type: str, data: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "relay", "event": Event(type=event_type, data=data)}
    try:
        await layer.group_send(group, message)
    except Exception:
        logger.exception("could not publish %s to %s", event_type, group)
