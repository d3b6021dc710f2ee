"""Streaming a checkpoint to disk: resumable, verified, never a loadable half file.

Bytes go to `<name>.part`; a second attempt continues it with an HTTP Range request. Only
when the size matches the server's (and the SHA-256, where known) is the file renamed to its
final name, atomically, so a loader never sees a partial or corrupt checkpoint.
"""

import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024
ZIP_MAGIC = b"PK"  # torch.save writes a zip archive


class DownloadError(Exception):
    pass


@dataclass
class DownloadProgress:
    received: int
    total: int | None
    speed_bps: float
    started_from: int

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.received / self.total, 1) if self.total else None

    @property
    def eta_s(self) -> float | None:
        if not self.total or self.speed_bps <= 0:
            return None
        return round((self.total - self.received) / self.speed_bps, 1)

    def as_dict(self) -> dict:
        return {
            "bytes": self.received,
            "total_bytes": self.total,
            "percent": self.percent,
            "speed_bps": round(self.speed_bps),
            "eta_s": self.eta_s,
            "resumed_from": self.started_from,
        }


def part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def _total_from(response, offset: int) -> tuple[int, int | None]:
    """(first byte the server sends, total size) from a 200 or 206 answer."""
    if response.status == 206:
        match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
        if not match:
            raise DownloadError("The server sent a partial answer without a valid Content-Range.")
        start, total = int(match.group(1)), match.group(2)
        if start != offset:
            raise DownloadError(f"The server resumed at byte {start}, not {offset}.")
        return start, None if total == "*" else int(total)
    length = response.headers.get("Content-Length")
    return 0, int(length) if length else None


def _open(url: str, offset: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "annotator"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https only)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            return None  # the part file is already whole (or longer than the file)
        raise DownloadError(f"The server answered {error.code} {error.reason} for {url}.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"Could not reach {url}: {reason}.") from None


def fetch(
    url: str,
    target: Path,
    *,
    sha256: str = "",
    timeout: float = 30,
    on_progress: Callable[[DownloadProgress], None] = lambda progress: None,
    before_rename: Callable[[], None] = lambda: None,
) -> Path:
    """Download `url` to `target`. `on_progress` and `before_rename` may raise to stop; the
    .part file stays for a later resume."""
    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"Only http and https URLs can be downloaded, not {url!r}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, timeout)
    if response is None:
        part.unlink(missing_ok=True)
        offset = 0
        response = _open(url, 0, timeout)
    with response:
        start, total = _total_from(response, offset)
        started_at, received = time.monotonic(), start
        with open(part, "ab" if start else "wb") as out:
            try:
                while chunk := response.read1(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    speed = (received - start) / max(time.monotonic() - started_at, 1e-6)
                    on_progress(DownloadProgress(received, total, speed, start))
            except (http.client.HTTPException, OSError) as error:
                raise DownloadError(
                    f"The connection broke after {received} bytes ({error}); "
                    "start the download again to resume."
                ) from None
    before_rename()
    _verify(part, total, sha256)
    os.replace(part, target)
    return target


def _verify(part: Path, total: int | None, sha256: str) -> None:
    size = part.stat().st_size
    if total is not None and size != total:
        if size > total:
            part.unlink(missing_ok=True)
        raise DownloadError(
            f"The download stopped at {size} of {total} bytes; start it again to resume."
        )
    with open(part, "rb") as file:
        if file.read(2) != ZIP_MAGIC:
            part.unlink(missing_ok=True)
            raise DownloadError("The file is not a PyTorch checkpoint; it was discarded.")
    if sha256:
        digest = hashlib.sha256()
        with open(part, "rb") as file:
            while block := file.read(CHUNK):
                digest.update(block)
        if digest.hexdigest() != sha256.lower():
            part.unlink(missing_ok=True)
            raise DownloadError("The file's SHA-256 does not match; it was discarded.")
