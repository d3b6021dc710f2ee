"""Only the latest click counts, in memory (embedded) and in Redis (production workers)."""

import pytest

from inference import supersede


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_newer_number_makes_older_requests_stale(store, settings, request):
    settings.REDIS_URL = request.getfixturevalue("redis_url") if store == "redis" else ""
    supersede._redis = None
    first = supersede.next_number(7, 11)
    assert supersede.is_latest(7, 11, first)
    second = supersede.next_number(7, 11)
    assert second == first + 1
    assert not supersede.is_latest(7, 11, first)
    assert supersede.is_latest(7, 11, second)
    assert supersede.is_latest(8, 11, 1)  # another user's clicks are their own
    supersede._redis = None
