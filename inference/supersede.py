"""Only the latest click counts: a per-(user, image) sequence number.

Each predict request takes the next number; a request still queued when a newer one arrives
is skipped by the worker. Production keeps the numbers in Redis (workers are other
processes); the embedded mode keeps them in memory.
"""

import threading

from django.conf import settings

EXPIRE_S = 3600

_numbers: dict[str, int] = {}
_lock = threading.Lock()
_redis = None


def _key(user_id: int, image_id: int) -> str:
    return f"annotator:predict-seq:{user_id}:{image_id}"


def _client():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


def next_number(user_id: int, image_id: int) -> int:
    key = _key(user_id, image_id)
    if settings.REDIS_URL:
        client = _client()
        with client.pipeline() as pipe:
            number, _ = pipe.incr(key).expire(key, EXPIRE_S).execute()
        return int(number)
    with _lock:
        _numbers[key] = _numbers.get(key, 0) + 1
        return _numbers[key]


def is_latest(user_id: int, image_id: int, number: int) -> bool:
    key = _key(user_id, image_id)
    if settings.REDIS_URL:
        current = _client().get(key)
        return current is None or int(current) <= number
    with _lock:
        return _numbers.get(key, 0) <= number
