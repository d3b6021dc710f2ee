"""SAM2 image features on disk, shared by every worker and kept across restarts.

One file per (model cache key, image content key) under MEDIA_ROOT/embeddings (inside the
var dir in the embedded mode, on the shared media volume in production), at
`<model>/<image[:2]>/<image>.safetensors`. The file has the safetensors layout (an 8-byte
little-endian header length, a JSON header, the raw tensors), written and read with numpy,
so nothing is ever unpickled: `image_embed` and the two `high_res_feats` in float16 (about
8.4 MB for a 1024 model) and, in the header's metadata, the model key, the image key, the
original size, the dtype the features had and a CRC-32 of the data.

Writes are atomic (a temporary file in the same folder, then os.replace). A read checks the
layout, the keys, the shapes the model makes and the checksum; a file that fails any check
is deleted and the caller computes the features again. The store is bounded by
ANNOTATOR_EMBEDDING_STORE_GB: when a write takes it over, the least recently used files (by
mtime, which a read touches) are deleted until it fits. A process counts its own writes and
walks the folder again at most every _RESCAN_S seconds (or when its count is over the
budget), so a write costs no walk of a store with thousands of files, and the store can go
over its budget by what the other workers wrote in that time. A budget of 0 turns the store
off.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import struct
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from django.conf import settings

logger = logging.getLogger(__name__)

FORMAT = "sam2-features/1"
SUFFIX = ".safetensors"
NAMES = ("image_embed", "high_res_feats.0", "high_res_feats.1")
_HEX = re.compile(r"^[0-9a-f]{8,64}$")
_HEADER_MAX = 64 * 1024
# A temporary file older than this is what a killed writer left behind.
_STALE_TEMP_S = 3600.0
# How stale a process's count of the store's bytes may grow before it walks the folder again.
_RESCAN_S = 30.0


@dataclass(frozen=True)
class Shapes:
    """The shapes of a model's features: image_embed, then the two high-resolution maps."""

    image_embed: tuple[int, ...]
    high_res: tuple[tuple[int, ...], tuple[int, ...]]

    @classmethod
    def of_model(cls, transformer_dim: int, image_size: int) -> Shapes:
        return cls(
            image_embed=(1, transformer_dim, image_size // 16, image_size // 16),
            high_res=(
                (1, transformer_dim // 8, image_size // 4, image_size // 4),
                (1, transformer_dim // 4, image_size // 8, image_size // 8),
            ),
        )

    def by_name(self) -> dict[str, tuple[int, ...]]:
        return dict(zip(NAMES, (self.image_embed, *self.high_res), strict=True))


class StoreFileBad(Exception):
    """A stored file that must not be served: cut short, damaged, or of another model."""


def features_tensors(state: Any) -> tuple[dict[str, torch.Tensor], tuple[int, int]]:
    """The engine's (features, orig_hw) as named tensors and the image's (height, width)."""
    features, orig_hw = state
    first, second = features["high_res_feats"]
    tensors = {NAMES[0]: features["image_embed"], NAMES[1]: first, NAMES[2]: second}
    height, width = orig_hw[0]
    return tensors, (int(height), int(width))


def encode(state: Any, *, model_key: str, image_key: str) -> bytes:
    """One file's bytes: the safetensors layout, float16 tensors, keys in the metadata."""
    tensors, (height, width) = features_tensors(state)
    arrays = [
        tensors[name].detach().to("cpu", torch.float16).contiguous().numpy() for name in NAMES
    ]
    data = b"".join(array.tobytes() for array in arrays)
    header: dict[str, Any] = {
        "__metadata__": {
            "format": FORMAT,
            "model": model_key,
            "image": image_key,
            "orig_hw": f"{height},{width}",
            "dtype": str(tensors[NAMES[0]].dtype).removeprefix("torch."),
            "crc32": str(zlib.crc32(data)),
        }
    }
    offset = 0
    for name, array in zip(NAMES, arrays, strict=True):
        header[name] = {
            "dtype": "F16",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts aligned, as safetensors pads it
    return struct.pack("<Q", len(text)) + text + data


def decode(
    blob: bytes, *, model_key: str, image_key: str, shapes: Shapes | None, device: str = "cpu"
) -> Any:
    """The engine's (features, orig_hw) from one file's bytes; StoreFileBad if any check fails."""
    if len(blob) < 8:
        raise StoreFileBad("shorter than its header")
    (size,) = struct.unpack("<Q", blob[:8])
    if size > _HEADER_MAX or 8 + size > len(blob):
        raise StoreFileBad("header cut short")
    try:
        header = json.loads(blob[8 : 8 + size])
        meta = header["__metadata__"]
    except (ValueError, KeyError, TypeError):
        raise StoreFileBad("header unreadable") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise StoreFileBad("not a features file of this format")
    if meta.get("model") != model_key or meta.get("image") != image_key:
        raise StoreFileBad("features of another model or image")
    data = memoryview(blob)[8 + size :]
    if str(zlib.crc32(data)) != meta.get("crc32"):
        raise StoreFileBad("checksum differs: the data is damaged or cut short")
    dtype = getattr(torch, str(meta.get("dtype")), None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise StoreFileBad("unknown dtype")
    tensors = [_tensor(header, name, data, shapes, dtype, device) for name in NAMES]
    try:
        height, width = (int(v) for v in str(meta.get("orig_hw")).split(","))
    except ValueError:
        raise StoreFileBad("original size unreadable") from None
    features = {"image_embed": tensors[0], "high_res_feats": [tensors[1], tensors[2]]}
    return features, [(height, width)]


def _tensor(header, name, data, shapes, dtype, device) -> torch.Tensor:
    entry = header.get(name)
    try:
        shape = tuple(int(v) for v in entry["shape"])
        start, end = (int(v) for v in entry["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise StoreFileBad(f"entry {name} unreadable") from None
    if entry.get("dtype") != "F16" or not 0 <= start <= end <= len(data):
        raise StoreFileBad(f"entry {name} out of bounds")
    if shapes is not None and shape != shapes.by_name()[name]:
        raise StoreFileBad(f"{name} has shape {shape}, the model makes {shapes.by_name()[name]}")
    if int(np.prod(shape)) * 2 != end - start:
        raise StoreFileBad(f"entry {name} size differs from its shape")
    array = np.frombuffer(data[start:end], dtype=np.float16).reshape(shape)
    return torch.from_numpy(array.copy()).to(device=device, dtype=dtype)


class EmbeddingStore:
    """The files under `root`, bounded by `max_bytes`; safe to share between threads and
    between processes (every write is atomic; a reader never sees half a file)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.reads = 0
        self.writes = 0
        self.dropped = 0
        self._used: int | None = None  # bytes, as of the last walk plus this process's writes
        self._walked_at = 0.0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def path(self, model_key: str, image_key: str) -> Path | None:
        """Where the features live; None for a key that is not a plain hex digest."""
        if not (_HEX.match(model_key) and _HEX.match(image_key)):
            return None
        return self.root / model_key / image_key[:2] / f"{image_key}{SUFFIX}"

    def contains(self, model_key: str, image_key: str) -> bool:
        path = self.path(model_key, image_key) if self.enabled else None
        return path is not None and path.is_file()

    def get(
        self, model_key: str, image_key: str, *, shapes: Shapes | None, device: str = "cpu"
    ) -> Any | None:
        """The stored features, or None (a bad file is deleted on the way)."""
        path = self.path(model_key, image_key) if self.enabled else None
        if path is None:
            return None
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        try:
            state = decode(
                blob, model_key=model_key, image_key=image_key, shapes=shapes, device=device
            )
        except StoreFileBad as bad:
            logger.warning("embedding store: dropping %s (%s)", path, bad)
            self.dropped += 1
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently used goes first
        self.reads += 1
        return state

    def put(self, model_key: str, image_key: str, state: Any) -> int:
        """Write the features atomically and keep the store within its budget; the bytes
        written (0 when the store is off or the key is not storable)."""
        path = self.path(model_key, image_key) if self.enabled else None
        if path is None:
            return 0
        blob = encode(state, model_key=model_key, image_key=image_key)
        if len(blob) > self.max_bytes:
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(blob)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.writes += 1
        with self._lock:
            used = self._used
            if used is not None and time.monotonic() - self._walked_at < _RESCAN_S:
                self._used = used + len(blob)
                over = self._used > self.max_bytes
            else:
                over = True  # never walked, or the count is stale: walk
        if over:
            self.evict()
        return len(blob)

    def files(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every stored file; stale temporary files are removed."""
        found: list[tuple[float, int, Path]] = []
        now = time.time()
        for folder, _, names in os.walk(self.root):
            for name in names:
                path = Path(folder) / name
                try:
                    info = path.stat()
                except OSError:
                    continue
                if name.endswith(SUFFIX):
                    found.append((info.st_mtime, info.st_size, path))
                elif name.endswith(".tmp") and now - info.st_mtime > _STALE_TEMP_S:
                    path.unlink(missing_ok=True)
        return found

    def used_bytes(self) -> int:
        return sum(size for _, size, _ in self.files())

    def evict(self) -> int:
        """Delete the least recently used files until the store fits its budget."""
        with self._lock:
            files = sorted(self.files())
            used = sum(size for _, size, _ in files)
            removed = 0
            for _, size, path in files:
                if used <= self.max_bytes:
                    break
                path.unlink(missing_ok=True)
                used -= size
                removed += 1
            self._used, self._walked_at = used, time.monotonic()
            return removed

    def clear(self) -> None:
        for _, _, path in self.files():
            path.unlink(missing_ok=True)
        with self._lock:
            self._used = None


_store: EmbeddingStore | None = None
_store_lock = threading.Lock()


def store_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "embeddings"


def embedding_store() -> EmbeddingStore:
    """The store of this process's settings (a test that moves MEDIA_ROOT gets a new one)."""
    global _store
    root = store_root()
    limit = int(float(settings.ANNOTATOR_EMBEDDING_STORE_GB) * 1024**3)
    with _store_lock:
        if _store is None or _store.root != root or _store.max_bytes != limit:
            _store = EmbeddingStore(root, limit)
        return _store
