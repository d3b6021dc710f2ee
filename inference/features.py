"""An image's SAM2 features for the browser's decoder: read, and packed for the wire.

The features are the ones clicks use: from the engine when the model is loaded in this
process (its memory cache, then the on-disk store), else from the store that every worker
shares. Features not there yet are prepared on the image's click worker (as opening an image
already asks) and the browser asks again: the answer is 202 until then.

On the wire (`application/x-sam2-features`): a 4-byte little-endian length, a JSON header
(format, model key, image key, orig_hw, image_size, mask_threshold, and per tensor its name,
shape and byte range), then one gzip stream of the three tensors in float16, each with its
bytes shuffled (every low byte, then every high byte), which compresses features better.

The two high-resolution feature maps (three quarters of the bytes) keep 7 of float16's 10
mantissa bits, rounded to nearest: they only sharpen the mask's upscaled edges, so masks
decoded from them agree with float32 features at IoU >= 0.997 (scores do not depend on
them), and the zeroed bits shrink the compressed answer by a fifth. The image embedding,
which the scores come from, is sent in full float16.
"""

from __future__ import annotations

import gzip
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from inference import engine
from inference.embeddings import NAMES, embedding_store, features_tensors
from inference.refs import ModelRef
from inference.services.predictions import Pixels, embedding_prepare_enqueue
from projects.errors import Conflict
from projects.models import Image

FORMAT = "sam2-features-wire/1"
CONTENT_TYPE = "application/x-sam2-features"
WIRE_NAMES = ("image_embed", "high_res_feats_0", "high_res_feats_1")
# Float16 mantissa bits kept per tensor on the wire (10: all of them).
MANTISSA_BITS = {"image_embed": 10, "high_res_feats_0": 7, "high_res_feats_1": 7}


class FeaturesNotReady(Conflict):
    code = "features_not_ready"


@dataclass(frozen=True)
class Packed:
    header: dict[str, Any]
    body: bytes

    def as_bytes(self) -> bytes:
        text = json.dumps(self.header, separators=(",", ":")).encode()
        return struct.pack("<I", len(text)) + text + self.body


def etag(ref: ModelRef, image: Image) -> str | None:
    """The features' tag, known before reading them: they depend on the model and the
    image's content only (None until the image's content key is known)."""
    if not image.key:
        return None
    return f'"{ref.cache_key}-{image.key[:32]}-f16"'


def image_features(image: Image, ref: ModelRef) -> Any:
    """The engine's (features, orig_hw) of `image` on the model `ref`, when they are ready
    (in this process's memory or in the shared store). Else FeaturesNotReady, once their
    preparation is asked of the image's click worker: a request never waits for an encoder
    (a sync view holds the thread every other sync view shares)."""
    if not image.key:
        Pixels(image)()  # the first read records the key, or says the image is unreadable
    key = image.key
    if engine.is_loaded(ref):
        model = engine.get_engine(ref)
        if key and model.features_ready(key):
            state, _ = model.embed(key, Pixels(image))
            return state
    elif key:
        stored = embedding_store().get(ref.cache_key, key, shapes=None)
        if stored is not None:
            return stored
    embedding_prepare_enqueue([image.pk])
    raise FeaturesNotReady(
        "The image's features are being prepared on the server: ask again in a moment."
    )


def shuffled(array: np.ndarray) -> bytes:
    """The bytes of a float16 array, every low byte first, then every high byte."""
    raw = np.ascontiguousarray(array, dtype="<f2").view(np.uint8).reshape(-1, 2)
    return raw.T.tobytes()


def rounded(array: np.ndarray, mantissa_bits: int) -> np.ndarray:
    """Float16 values rounded to nearest with `mantissa_bits` of the 10 mantissa bits kept
    (the others zero). A value that would round past the largest finite float16 is cut
    instead, so nothing becomes infinite."""
    dropped = 10 - mantissa_bits
    if dropped <= 0:
        return array
    bits = np.ascontiguousarray(array, dtype="<f2").view(np.uint16).astype(np.uint32)
    keep = np.uint32(0xFFFF ^ ((1 << dropped) - 1))
    near = (bits + (1 << (dropped - 1))) & keep
    overflowed = (near & 0x7FFF) >= 0x7C00  # past the finite range (or inf/nan already)
    out = np.where(overflowed, bits & keep, near)
    finite = (bits & 0x7C00) != 0x7C00
    out = np.where(finite, out, bits)  # inf and nan stay as they are
    return out.astype(np.uint16).view("<f2").reshape(array.shape)


def pack(state: Any, *, ref: ModelRef, image: Image, level: int = 6) -> Packed:
    tensors, (height, width) = features_tensors(state)
    entries: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    offset = 0
    for wire, name in zip(WIRE_NAMES, NAMES, strict=True):
        array = tensors[name].detach().float().cpu().numpy().astype(np.float16)
        data = shuffled(rounded(array, MANTISSA_BITS[wire]))
        entries.append(
            {
                "name": wire,
                "shape": list(array.shape),
                "offset": offset,
                "mantissa_bits": MANTISSA_BITS[wire],
            }
        )
        chunks.append(data)
        offset += len(data)
    image_size = int(entries[1]["shape"][-1]) * 4  # high_res_feats_0 is S/4 wide
    header = {
        "format": FORMAT,
        "model": ref.cache_key,
        "image": image.key,
        "orig_hw": [height, width],
        "image_size": image_size,
        "mask_threshold": float(ref.params.mask_threshold),
        "dtype": "float16",
        "shuffle": "bytes",
        "compression": "gzip",
        "raw_bytes": offset,
        "tensors": entries,
    }
    return Packed(header=header, body=gzip.compress(b"".join(chunks), level, mtime=0))


def unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and float16 tensors of a packed answer (what the browser does, in Python)."""
    (size,) = struct.unpack("<I", blob[:4])
    header = json.loads(blob[4 : 4 + size])
    raw = gzip.decompress(blob[4 + size :])
    tensors = {}
    for entry in header["tensors"]:
        count = int(np.prod(entry["shape"]))
        start = entry["offset"]
        planes = np.frombuffer(raw[start : start + 2 * count], np.uint8).reshape(2, count)
        tensors[entry["name"]] = planes.T.copy().view("<f2").reshape(entry["shape"])
    return header, tensors
