"""A bounded on-disk cache for the bytes of remote images (URL and Azure sources).

Entries are files named by a hash of (source, path, etag); a hit refreshes the file's time,
and after each write the oldest entries are dropped until the folder fits the size limit.
"""

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

_evict_lock = threading.Lock()


def cache_dir() -> Path:
    return Path(settings.ANNOTATOR_CACHE_DIR) / "sources"


def cache_key(*parts: object) -> str:
    return hashlib.sha256("\x00".join(str(part) for part in parts).encode()).hexdigest()


def cached_bytes(key: str, fetch: Callable[[], bytes]) -> bytes:
    path = cache_dir() / key[:2] / key
    try:
        data = path.read_bytes()
        os.utime(path)
        return data
    except FileNotFoundError:
        pass
    data = fetch()
    cache_put(path, data)
    return data


def cache_put(path: Path, data: bytes) -> None:
    limit = settings.ANNOTATOR_SOURCE_CACHE_MB * 1024 * 1024
    if len(data) > limit:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a reader never sees half a file.
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as temp:
        temp.write(data)
    os.replace(temp.name, path)
    cache_evict(limit)


def cache_evict(limit: int) -> None:
    with _evict_lock:
        entries = []
        for folder in cache_dir().iterdir():
            for entry in os.scandir(folder):
                if entry.name.endswith(".part"):
                    continue
                stat = entry.stat()
                entries.append((stat.st_mtime_ns, stat.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= limit:
                break
            try:
                os.remove(path)
            except FileNotFoundError:
                continue
            total -= size


def cache_size() -> int:
    root = cache_dir()
    if not root.exists():
        return 0
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
