"""Who has which image open, kept in the cache and announced to the project group.

Entries expire when a browser stops sending its heartbeat, so a crashed tab does not linger.
The heartbeat also renews the person's lease on the image (projects.workflow.claims), and
leaving it (their last tab on it closes or moves on) releases the lease, so an abandoned
image goes back to the pool.
"""

import time

from asgiref.sync import sync_to_async
from django.core.cache import cache

from projects.workflow.claims import claim_release, claim_renew

STALE_AFTER = 90  # seconds without a heartbeat


def _key(image_id: int) -> str:
    return f"presence:image:{image_id}"


def _fresh(entries: dict) -> dict:
    now = time.time()
    return {k: v for k, v in entries.items() if now - v["seen"] < STALE_AFTER}


def presence_enter(*, image_id: int, channel: str, user_id: int, username: str) -> list[dict]:
    entries = _fresh(cache.get(_key(image_id), {}))
    entries[channel] = {"user_id": user_id, "username": username, "seen": time.time()}
    cache.set(_key(image_id), entries, STALE_AFTER * 2)
    claim_renew(image_id=image_id, user_id=user_id)
    return presence_users(entries)


def presence_leave(*, image_id: int, channel: str) -> list[dict]:
    entries = _fresh(cache.get(_key(image_id), {}))
    left = entries.pop(channel, None)
    cache.set(_key(image_id), entries, STALE_AFTER * 2)
    if left is not None and all(v["user_id"] != left["user_id"] for v in entries.values()):
        claim_release(image_id=image_id, user_id=left["user_id"])
    return presence_users(entries)


def presence_of(image_id: int) -> list[dict]:
    return presence_users(_fresh(cache.get(_key(image_id), {})))


def presence_users(entries: dict) -> list[dict]:
    """One entry per person, however many tabs they have open."""
    users = {v["user_id"]: v["username"] for v in entries.values()}
    return [{"user_id": uid, "username": name} for uid, name in sorted(users.items())]


apresence_enter = sync_to_async(presence_enter)
apresence_leave = sync_to_async(presence_leave)
